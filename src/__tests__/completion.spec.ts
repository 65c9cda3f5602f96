// Tests of the filter box's completions (models/completion.ts).
import { applyCompletion, complete } from '../models/completion';

const keys = {
  params: ['lr', 'batch size', 'layers'],
  metrics: ['loss', 'val_acc'],
  tags: ['baseline', 'best run']
};
const labels = (text: string, cursor = text.length) =>
  complete(text, cursor, keys).items.map(i => i.label);

describe('complete', () => {
  it('offers every params key after `params.`, quoting keys that are not bare', () => {
    const out = complete('params.', 7, keys);
    expect(out.items.map(i => i.label)).toEqual([
      'params.lr',
      'params.batch size',
      'params.layers'
    ]);
    expect(out.items[1].insert).toBe('params."batch size" ');
    expect(out.from).toBe(0);
    expect(labels('params.l')).toEqual(['params.lr', 'params.layers']);
  });

  it('offers metric keys, tags, and fields with the key prefixes', () => {
    expect(labels('status = finished and metrics.v')).toEqual([
      'metrics.val_acc'
    ]);
    expect(labels('tag:b')).toEqual(['tag:baseline', 'tag:best run']);
    expect(complete('tag:be', 6, keys).items[0].insert).toBe('tag:"best run" ');
    expect(labels('sta')).toEqual(['status', 'started']);
    expect(labels('p')).toEqual(['params.']);
    expect(labels('')).toEqual([]);
  });

  it('offers statuses after status =, != and in (', () => {
    expect(labels('status = ')).toEqual([
      'queued',
      'running',
      'finished',
      'failed',
      'killed',
      'lost'
    ]);
    expect(labels('status != f')).toEqual(['finished', 'failed']);
    expect(labels('status in (running, f')).toEqual(['finished', 'failed']);
    expect(labels('name = f')).toEqual([]);
  });

  it('completes the word at the cursor, not the end of the text', () => {
    const text = 'params.l < 0.1';
    const out = complete(text, 8, keys);
    expect(out.items.map(i => i.label)).toEqual(['params.lr', 'params.layers']);
    const done = applyCompletion(text, out, out.items[0].insert);
    expect(done.text).toBe('params.lr < 0.1');
    expect(done.cursor).toBe(9);
  });

  it('leaves out what is already typed in full', () => {
    expect(labels('status')).toEqual([]);
    expect(labels('params.lr')).toEqual([]);
  });
});

describe('applyCompletion', () => {
  it('replaces the word and puts the cursor after the insert', () => {
    const out = complete('params.', 7, keys);
    expect(applyCompletion('params.', out, 'params.lr ')).toEqual({
      text: 'params.lr ',
      cursor: 10
    });
  });
});
