import { queryValues } from './query-token';

describe('queryValues', () => {
  it('reads every value of one query parameter, decoded', () => {
    expect(queryValues('/v1/webhooks/rasa?token=a%2Bb', 'token')).toEqual(['a+b']);
    expect(queryValues('/x?token=a&other=1&token=b', 'token')).toEqual(['a', 'b']);
    expect(queryValues('/x?token=', 'token')).toEqual(['']);
  });

  it('finds none without a query or without the parameter', () => {
    expect(queryValues('/x', 'token')).toEqual([]);
    expect(queryValues('/x?tokens=a', 'token')).toEqual([]);
    expect(queryValues(undefined, 'token')).toEqual([]);
  });
});
