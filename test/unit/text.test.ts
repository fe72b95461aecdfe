import { expect } from 'chai';
import { singleLineText } from '../../src/domain/text.js';

describe('single-line text', () => {
  const name = singleLineText({ min: 1, max: 30 });

  it('refuses control characters anywhere: C0, DEL, C1 and the line separators', () => {
    for (const bad of [
      'a\u0000b',
      'a\u001fb',
      'a\u007fb',
      'a\u0085b',
      'a\u2028b',
      'a\nb',
      'a\tb',
    ]) {
      const parsed = name.safeParse(bad);
      expect(parsed.success, JSON.stringify(bad)).to.be.false;
      expect(parsed.error?.issues[0]?.message).to.equal('must not contain control characters');
    }
  });

  it('keeps any other text, trimmed, within its bounds', () => {
    expect(name.parse('  Contoso Ltd.  ')).to.equal('Contoso Ltd.');
    expect(name.parse('Müller & Söhne – 東京 🚀')).to.equal('Müller & Söhne – 東京 🚀');
    // Surrounding line breaks are whitespace that trimming removes, not part of the name.
    expect(name.parse('\nContoso\n')).to.equal('Contoso');
    expect(name.safeParse('   ').success).to.be.false;
    expect(name.safeParse('x'.repeat(31)).success).to.be.false;
  });
});
