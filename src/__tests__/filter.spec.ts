// Tests of free-text search in the filter box (models/filter.ts).
import { isFreeText, toServerFilter } from '../models/filter';

describe('toServerFilter', () => {
  it('turns bare words into a search of names, tags and notes', () => {
    expect(toServerFilter(' resnet ')).toBe(
      "(name ~ 'resnet' or tags ~ 'resnet' or note ~ 'resnet')"
    );
    expect(toServerFilter('resnet cifar')).toBe(
      "(name ~ 'resnet' or tags ~ 'resnet' or note ~ 'resnet') and " +
        "(name ~ 'cifar' or tags ~ 'cifar' or note ~ 'cifar')"
    );
  });

  it('sends queries of the filter language as written', () => {
    for (const query of [
      'params.lr < 0.01',
      'status = finished',
      'tag:baseline',
      'name ~ resnet',
      'detached',
      'not detached',
      "name ~ 'a b'",
      '(a)',
      'status in (running, queued)'
    ]) {
      expect(isFreeText(query)).toBe(false);
      expect(toServerFilter(query)).toBe(query.trim());
    }
  });

  it('escapes backslashes so the server reads the word as typed', () => {
    expect(toServerFilter('a\\b')).toBe(
      "(name ~ 'a\\\\b' or tags ~ 'a\\\\b' or note ~ 'a\\\\b')"
    );
  });

  it('leaves an empty filter empty', () => {
    expect(toServerFilter('   ')).toBe('');
  });
});
