function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The pages' icon: a small SVG served at /favicon.ico (browsers ask there) and linked. */
export const favicon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0b5cad"/><path d="M9 8v16h14" fill="none" stroke="#fff" stroke-width="4" stroke-linecap="round" stroke-linejoin="round"/></svg>`;

/** Where a page without a better way on sends the reader back to: their home page. */
const home = { href: '/', text: 'Back to license-sync' };

/**
 * A page that says one thing: the browser-facing answers of the callback (errors, Redis down)
 * and the pages' errors (404, 403), styled as the other pages and always with a way on.
 */
export function messagePage(
  title: string,
  message: string,
  /** A way on, such as starting again. Default: back to the home page */
  link: { href: string; text: string } = home,
): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)} · license-sync</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/favicon.ico" type="image/svg+xml">
<link rel="stylesheet" href="/static/style.css"></head>
<body><header><a class="brand" href="/">license-sync</a></header>
<main><section><h1>${escape(title)}</h1><p role="alert">${escape(message)}</p>
<p class="actions"><a class="button primary" href="${escape(link.href)}">${escape(link.text)}</a></p></section></main></body></html>`;
}
