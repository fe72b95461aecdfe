import { expect } from 'chai';
import {
  countMailboxes,
  parseCsv,
  UsageReportFormatError,
} from '../../src/microsoft/usage-reports.js';

const header =
  'Report Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,Created Date,Last Activity Date,Item Count,Storage Used (Byte),Issue Warning Quota (Byte),Prohibit Send Quota (Byte),Prohibit Send/Receive Quota (Byte),Deleted Item Count,Deleted Item Size (Byte),Deleted Item Quota (Byte),Has Archive,Recipient Type,Report Period';
const row = (upn: string, name: string, deleted: string, type: string) =>
  `2026-11-29,${upn},${name},${deleted},${deleted === 'True' ? '2026-11-27' : ''},2024-01-02,,10,710000,52613349376,53150220288,53687091200,0,0,32212254720,False,${type},7`;

describe('usage reports (CSV)', () => {
  it('parses quoted fields: commas, doubled quotes, line breaks; a BOM and CRLF or LF', () => {
    expect(parseCsv('\uFEFFa,b\r\n"x, y","say ""hi"""\r\n')).to.deep.equal([
      ['a', 'b'],
      ['x, y', 'say "hi"'],
    ]);
    expect(parseCsv('a,"two\nlines",\nlast')).to.deep.equal([['a', 'two\nlines', ''], ['last']]);
    expect(parseCsv('')).to.deep.equal([]);
  });

  it('refuses a file that is not CSV with a sentence, not a parser crash', () => {
    expect(() => parseCsv('a,"unterminated\n')).to.throw(UsageReportFormatError, /not valid CSV/);
  });

  it('counts user and shared mailboxes by recipient type, without deleted ones or rooms', () => {
    const csv = [
      `\uFEFF${header}`,
      row('a@contoso.com', '"Smith, ""Jo"""', 'False', 'User'),
      row('5B1D3E0F9A8C7B6D5E4F3A2B1C0D9E8F', '5B1D3E0F9A8C7B6D5E4F3A2B1C0D9E8F', 'False', 'User'),
      row('old@contoso.com', 'Old', 'True', 'User'),
      row('help@contoso.com', 'Help', 'False', 'Shared'),
      row('gone@contoso.com', 'Gone', 'True', 'Shared'),
      row('room@contoso.com', 'Room', 'False', 'Room'),
      row('info@contoso.com', 'Info', 'False', 'SharedMailbox'),
      '',
    ].join('\r\n');
    expect(countMailboxes(csv)).to.deep.equal({ user: 2, shared: 2, refreshDate: '2026-11-29' });
  });

  it('an empty report counts nothing; one without Recipient Type cannot count', () => {
    expect(countMailboxes(`\uFEFF${header}\r\n`)).to.deep.equal({
      user: 0,
      shared: 0,
      refreshDate: null,
    });
    expect(() => countMailboxes('Report Refresh Date,Is Deleted\r\n2026-11-29,False')).to.throw(
      UsageReportFormatError,
      /Recipient Type/,
    );
  });
});
