import { expect } from 'chai';
import { defineFlow, xaPlan, type Step } from './flow';

const step = (id: string, participant: string, needs?: Step<unknown>[]): Step<unknown> => ({
  id,
  participant,
  needs,
  action: async () => undefined,
});

describe('flow definitions', () => {
  it('plans XA waves from needs and keeps one participant in order', () => {
    const begin = step('begin', 'reservation');
    const flow = defineFlow({
      name: 'pay',
      steps: [
        begin,
        step('use', 'point', [begin]),
        step('record', 'payment', [begin]),
        step('sell', 'concert', [begin]),
        step('confirm', 'reservation', [begin]),
      ],
      output: () => undefined,
    });
    const { waves, lastOf } = xaPlan(flow);
    expect(waves.map((w) => w.map((s) => s.id))).to.deep.equal([
      ['begin'],
      ['use', 'record', 'sell', 'confirm'],
    ]);
    expect([...lastOf]).to.deep.equal([
      ['reservation', 'confirm'],
      ['point', 'use'],
      ['payment', 'record'],
      ['concert', 'sell'],
    ]);
  });

  it('runs steps without needs of one participant one after another', () => {
    const { waves } = xaPlan(
      defineFlow({
        name: 'f',
        steps: [step('a', 'p'), step('b', 'q'), step('c', 'p')],
        output: () => undefined,
      }),
    );
    expect(waves.map((w) => w.map((s) => s.id))).to.deep.equal([['a', 'b'], ['c']]);
  });

  it('refuses duplicate step ids and needs on later steps', () => {
    expect(() =>
      defineFlow({ name: 'f', steps: [step('a', 'p'), step('a', 'q')], output: () => undefined }),
    ).to.throw(/duplicate/);
    const b = step('b', 'q');
    expect(() =>
      defineFlow({ name: 'f', steps: [step('a', 'p', [b]), b], output: () => undefined }),
    ).to.throw(/earlier/);
  });
});
