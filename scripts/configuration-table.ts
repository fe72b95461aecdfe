// The README's configuration table, written from the env schema (config/env.ts).
import { format, resolveConfig } from 'prettier';
import { envVariables, variableDocs, type EnvVariable } from '../config/env.js';

const tableStart = '<!-- configuration table: written by npm run config:docs -->';
const tableEnd = '<!-- end of configuration table -->';

interface ConfigurationRow {
  variable: EnvVariable;
  /** As the Default column shows it. */
  default: string;
  meaning: string;
}

/** One row per variable, in the schema's order; throws when a variable is not documented. */
export function configurationRows(): ConfigurationRow[] {
  return (Object.keys(envVariables) as EnvVariable[]).map((variable) => {
    const schema = envVariables[variable];
    const doc = variableDocs.get(schema);
    if (!doc) throw new Error(`${variable} has no meaning in config/env.ts`);
    const parsed = schema.safeParse(undefined);
    const value: unknown = parsed.success ? parsed.data : undefined;
    if (
      value !== undefined &&
      typeof value !== 'string' &&
      typeof value !== 'number' &&
      typeof value !== 'boolean'
    ) {
      throw new Error(`${variable} has a default the table cannot show`);
    }
    if (value !== undefined && doc.unset !== undefined) {
      throw new Error(`${variable} has a schema default, so it takes no "unset" text`);
    }
    const shown = value === undefined ? (doc.unset ?? 'unset') : `\`${String(value)}\``;
    return { variable, default: shown, meaning: doc.meaning };
  });
}

const cell = (text: string) => text.replaceAll('|', '\\|');

/** The table's Markdown, not yet aligned (prettier aligns it). */
function configurationTable(): string {
  const lines = [
    'This table is written from `config/env.ts` by `npm run config:docs`: change the schema, not the table.',
    '',
    '| Variable | Default | Meaning |',
    '| --- | --- | --- |',
    ...configurationRows().map(
      (row) => `| \`${row.variable}\` | ${cell(row.default)} | ${cell(row.meaning)} |`,
    ),
  ];
  return lines.join('\n');
}

/** README.md with the text between the table's markers written afresh, formatted by prettier. */
export async function readmeWithConfigurationTable(readme: string, file = 'README.md') {
  const start = readme.indexOf(tableStart);
  const end = readme.indexOf(tableEnd);
  if (start < 0 || end < start) {
    throw new Error(`${file} lacks the markers ${tableStart} ... ${tableEnd}`);
  }
  const written = `${readme.slice(0, start + tableStart.length)}\n\n${configurationTable()}\n\n${readme.slice(end)}`;
  const options = (await resolveConfig(file)) ?? {};
  return format(written, { ...options, filepath: file });
}
