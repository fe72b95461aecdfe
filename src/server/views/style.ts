/** The pages' one small stylesheet, served at /static/style.css. */
export const stylesheet = `
:root { --ink:#1b1f24; --muted:#5b6470; --line:#d8dde3; --accent:#0b5cad; --ok:#1a7f37; --bad:#b42318; --warn:#9a6700; }
* { box-sizing: border-box; }
body { margin:0; font:16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--ink); background:#f6f8fa; }
header { background:#fff; border-bottom:1px solid var(--line); padding:.75rem 1.5rem; display:flex; gap:1.5rem; align-items:center; flex-wrap:wrap; }
header .brand { font-weight:700; color:var(--ink); text-decoration:none; }
header nav a { margin-right:1rem; color:var(--accent); text-decoration:none; white-space:nowrap; }
header .who { white-space:nowrap; }
header nav a[aria-current="page"] { font-weight:700; text-decoration:underline; }
header form { margin-left:auto; }
main { max-width:64rem; margin:1.5rem auto; padding:0 1.5rem; }
section { background:#fff; border:1px solid var(--line); border-radius:8px; padding:1rem 1.25rem; margin-bottom:1.25rem; }
h1 { font-size:1.5rem; margin:.25rem 0 1rem; } h2 { font-size:1.15rem; margin:0 0 .75rem; }
table { border-collapse:collapse; width:100%; } th, td { text-align:left; padding:.4rem .5rem; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-size:.85rem; color:var(--muted); font-weight:600; }
button, .button { font:inherit; padding:.45rem .9rem; border-radius:6px; border:1px solid var(--line); background:#fff; color:var(--ink); cursor:pointer; text-decoration:none; display:inline-block; }
button.primary, .button.primary { background:var(--accent); border-color:var(--accent); color:#fff; }
form.inline { display:inline; }
label { display:block; margin:.5rem 0 .2rem; font-weight:600; }
input[type=text], input[type=email], input[type=password], select { font:inherit; padding:.4rem .5rem; width:100%; max-width:24rem; border:1px solid var(--line); border-radius:6px; }
.muted { color:var(--muted); } .ok { color:var(--ok); } .bad { color:var(--bad); } .warn { color:var(--warn); }
.notice { padding:.6rem .8rem; border-radius:6px; background:#eef4fb; border:1px solid #c9dcf0; margin:.5rem 0; }
.notice.bad { background:#fdf0ef; border-color:#f3c7c2; color:var(--bad); }
progress { width:100%; max-width:28rem; height:1rem; }
.nowrap { white-space:nowrap; } .small { font-size:.85rem; }
.num { text-align:right; white-space:nowrap; font-variant-numeric:tabular-nums; } tr.differs td { background:#fff8e6; }
main.wide { max-width:80rem; }
ul.plain { list-style:none; margin:0; padding:0; } ul.plain > li + li { margin-top:.4rem; }
.small-form { margin:.3rem 0 0; } .small-form button { padding:.2rem .6rem; font-size:.9rem; }
.filters { display:flex; flex-wrap:wrap; gap:.4rem .5rem; margin-bottom:.5rem; }
.filters a { border:1px solid var(--line); border-radius:999px; padding:.15rem .7rem; color:var(--accent); text-decoration:none; white-space:nowrap; }
.filters a[aria-current="page"] { background:var(--accent); border-color:var(--accent); color:#fff; }
.filters .count { font-weight:700; }
form.companies-query fieldset { border:0; padding:0; margin:.5rem 0; } form.companies-query legend { font-weight:600; padding:0; }
form.companies-query label.check { display:inline-block; font-weight:normal; margin:.2rem 1rem .2rem 0; white-space:nowrap; }
ul.summary { list-style:none; padding:0; margin:0; display:grid; grid-template-columns:repeat(auto-fill, minmax(15rem, 1fr)); gap:.4rem 1rem; }
ul.summary .count { font-weight:700; display:inline-block; min-width:2ch; text-align:right; margin-right:.4rem; }
/* On a phone a wide table becomes one card per row, each value under its heading's words. */
@media (max-width: 48rem) {
  table.stack thead { display:none; }
  table.stack tr { display:block; border-bottom:2px solid var(--line); padding:.4rem 0; }
  table.stack td { display:block; border:0; padding:.2rem 0; }
  table.stack td::before { content:attr(data-label); display:block; font-size:.8rem; color:var(--muted); font-weight:600; }
  table.stack td.num { text-align:left; }
  table.stack tfoot th { display:block; border:0; padding:.2rem 0; }
  main { padding:0 .75rem; }
  /* A table not made of cards scrolls sideways inside itself, never the whole page. */
  table:not(.stack) { display:block; overflow-x:auto; }
  /* Two rows that never break a word: the brand and log-out, then the tabs (scrolling sideways
     when an operator's six do not fit); a long email is cut short, its whole in the tooltip. */
  header { padding:.5rem .75rem; gap:.25rem .75rem; }
  header form { display:flex; align-items:center; gap:.4rem; min-width:0; }
  header .who { max-width:8rem; overflow:hidden; text-overflow:ellipsis; }
  header nav { order:1; flex:1 0 100%; display:flex; overflow-x:auto; }
  header nav a { margin-right:.6rem; font-size:.95rem; }
  header nav a:last-child { margin-right:0; }
}
.charts { display:grid; grid-template-columns:repeat(auto-fill, minmax(18rem, 1fr)); gap:1rem; }
figure.seat-chart { margin:0; } figure.seat-chart svg { width:100%; height:auto; display:block; }
.seat-chart text { font-size:9px; fill:var(--muted); } .seat-chart .axis { stroke:var(--line); }
.seat-chart path { fill:none; stroke-width:2; } .seat-chart path.seat-purchased { stroke:var(--accent); }
.seat-chart path.seat-assigned { stroke:var(--ok); stroke-dasharray:4 3; }
.seat-chart .key { white-space:nowrap; margin-left:.6rem; font-size:.85rem; }
.seat-chart .key::before { content:""; display:inline-block; width:1rem; height:0; margin-right:.3rem; vertical-align:middle; border-top:2px solid; }
.key.seat-purchased::before { border-color:var(--accent); } .key.seat-assigned::before { border-top-style:dashed; border-color:var(--ok); }
label.check { font-weight:normal; margin:.2rem 0; }
fieldset.choice { border:0; padding:0; margin:.5rem 0; columns:2 22rem; column-gap:2rem; } fieldset.choice legend { font-weight:600; padding:0; }
fieldset.choice label { break-inside:avoid; } tr.channel td { border-bottom:0; } tr.edit-row td { padding-top:0; }
code { overflow-wrap:anywhere; }
.actions { display:flex; gap:.5rem; flex-wrap:wrap; margin-top:.75rem; }
`;
