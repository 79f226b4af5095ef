import { retryLostConnection, START_ATTEMPTS } from './start-retries';

const lost = () => Object.assign(new Error('terminating connection due to idle-session timeout'), { code: '57P05' });

describe('retryLostConnection', () => {
  it('runs a step again while PostgreSQL was lost, telling onRetry of each attempt, and gives its result', async () => {
    const retried: number[] = [];
    let runs = 0;
    const result = await retryLostConnection(
      () => {
        runs += 1;
        return runs < START_ATTEMPTS ? Promise.reject(lost()) : Promise.resolve('started');
      },
      { onRetry: (_error, attempt) => retried.push(attempt) },
    );
    expect(result).toBe('started');
    expect(retried).toEqual([1, 2]);
  });

  it('gives up after START_ATTEMPTS, and at once on any other failure', async () => {
    let runs = 0;
    await expect(retryLostConnection(() => (runs++, Promise.reject(lost())))).rejects.toMatchObject({ code: '57P05' });
    expect(runs).toBe(START_ATTEMPTS);
    runs = 0;
    const bug = new Error('relation "x" does not exist');
    await expect(retryLostConnection(() => (runs++, Promise.reject(bug)))).rejects.toBe(bug);
    expect(runs).toBe(1);
  });
});
