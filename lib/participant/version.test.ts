import { expect } from 'chai';
import { supportsDurableXa } from './version';

describe('XA server support', () => {
  it('accepts MariaDB from 10.5 and MySQL from 8.0.29', () => {
    expect(supportsDurableXa('10.11.19-MariaDB-0+deb12u1')).to.equal(true);
    expect(supportsDurableXa('10.5.0-MariaDB')).to.equal(true);
    expect(supportsDurableXa('11.4.2-MariaDB')).to.equal(true);
    expect(supportsDurableXa('8.0.29')).to.equal(true);
    expect(supportsDurableXa('8.4.0')).to.equal(true);
  });

  it('refuses older servers and unreadable versions', () => {
    expect(supportsDurableXa('10.4.32-MariaDB')).to.equal(false);
    expect(supportsDurableXa('8.0.28')).to.equal(false);
    expect(supportsDurableXa('5.7.44-log')).to.equal(false);
    expect(supportsDurableXa('')).to.equal(false);
  });
});
