// The jest test environment of every project: jest-environment-node's, with a test file's global object made a
// plain V8 global (vm.constants.DONT_CONTEXTIFY) instead of a contextified Proxy. jest 30 wraps each file's global in
// a Proxy (to delete what a test left on it at teardown), and the vm module reaches a contextified object's
// properties through interceptors: every global name a module reads (Object, Array, Buffer, Date...) cost about 0.3 to
// 1 µs instead of nanoseconds. Under it class-transformer ran about ten times slower than in plain Node, and a sample
// of e2e files took a seventh more CPU. What a test leaves on its global goes with the global, which the worker
// drops when the file ends (and jest.config.js recycles a worker that grows).
const vm = require('node:vm');
const { TestEnvironment } = require('jest-environment-node');

// In every runtime package.json's engines allow (Node 20.18 and 22.8 brought it).
const { DONT_CONTEXTIFY } = vm.constants;

class NodeEnvironment extends TestEnvironment {
  constructor(config, context) {
    const createContext = vm.createContext;
    // Only for the one call of the parent's constructor, which passes its global Proxy.
    vm.createContext = () => createContext(DONT_CONTEXTIFY);
    try {
      super(config, context);
    } finally {
      vm.createContext = createContext;
    }
  }
}

module.exports = NodeEnvironment;
