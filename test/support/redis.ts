/**
 * The Redis URL for tests that need one (set up by the global setup: REDIS_URL, or a redis-server it started).
 * Throws, so the test fails with the reason, when there is none: such a test must never pass by skipping.
 */
export function testRedisUrl(): string {
  const url = process.env.WF_TEST_REDIS_URL;
  if (url) return url;
  throw new Error(process.env.WF_TEST_REDIS_UNAVAILABLE ?? 'no Redis for the tests: run them through jest (npm test)');
}
