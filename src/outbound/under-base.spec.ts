import { underBase } from './under-base';

describe('underBase', () => {
  it("keeps the base URL's path (a gateway's prefix), with or without its trailing slash", () => {
    expect(underBase('https://gw.bank.example/archive', '/v1/statements').href).toBe(
      'https://gw.bank.example/archive/v1/statements',
    );
    expect(underBase('https://gw.bank.example/archive/', 'v1/statements').href).toBe(
      'https://gw.bank.example/archive/v1/statements',
    );
    expect(underBase('http://127.0.0.1:8080', '/v1/estimates').href).toBe('http://127.0.0.1:8080/v1/estimates');
  });
});
