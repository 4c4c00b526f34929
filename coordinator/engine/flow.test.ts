import { expect } from 'chai';
import { defineFlow, xaPlan, type Step } from './flow';

const step = (id: string, participant: string, needs?: string[]): Step<unknown> => ({
  id,
  participant,
  needs,
  action: async () => undefined,
});

describe('flow definitions', () => {
  it('plans XA waves from needs and keeps one participant in order', () => {
    const flow = defineFlow({
      name: 'pay',
      steps: [
        step('begin', 'reservation'),
        step('use', 'point', ['begin']),
        step('record', 'payment', ['begin']),
        step('sell', 'concert', ['begin']),
        step('confirm', 'reservation', ['begin']),
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
    expect(() =>
      defineFlow({
        name: 'f',
        steps: [step('a', 'p', ['b']), step('b', 'q')],
        output: () => undefined,
      }),
    ).to.throw(/earlier/);
  });
});
