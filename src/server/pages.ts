function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A minimal page for the browser-facing answers of the callback (errors, Redis down). */
export function messagePage(
  title: string,
  message: string,
  /** A way on, such as starting again. Default: none */
  link?: { href: string; text: string },
): string {
  const next = link ? `<p><a href="${escape(link.href)}">${escape(link.text)}</a></p>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/style.css"></head>
<body><main><h1>${escape(title)}</h1><p role="alert">${escape(message)}</p>${next}</main></body></html>`;
}
