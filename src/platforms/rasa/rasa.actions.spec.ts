import { defaultActionFor, defaultIntentFor, RasaActionMap } from './rasa.actions';

describe('defaultIntentFor', () => {
  it.each([
    ['action_get_account_balance', 'GetAccountBalance'],
    ['action_get_recent_transactions', 'GetRecentTransactions'],
    ['action_test_conversation', 'TestConversation'],
    ['action_greet', 'Greet'],
    ['action_step2_check', 'Step2Check'],
  ])('maps %s to %s', (action, intent) => {
    expect(defaultIntentFor(action)).toBe(intent);
  });

  it.each([
    'get_account_balance',
    'action_',
    'action_Get_Balance',
    'action_get__balance',
    'action_get_balance_',
    'utter_greet',
    'validate_account_form',
    'action-get-balance',
  ])('has no intent for %j', (action) => {
    expect(defaultIntentFor(action)).toBeUndefined();
  });
});

describe('defaultActionFor', () => {
  it.each([
    ['GetAccountBalance', 'action_get_account_balance'],
    ['TestConversation', 'action_test_conversation'],
    ['Greet', 'action_greet'],
    ['Step2Check', 'action_step2_check'],
  ])('maps %s to %s', (intent, action) => {
    expect(defaultActionFor(intent)).toBe(action);
    expect(defaultIntentFor(action)).toBe(intent);
  });

  it.each(['greet', 'bank.balance', 'Get-Balance', 'Get Balance', ''])('has no default action for %j', (intent) => {
    expect(defaultActionFor(intent)).toBeUndefined();
  });

  it('round-trips acronyms letter by letter', () => {
    expect(defaultActionFor('GetHTTPStatus')).toBe('action_get_h_t_t_p_status');
    expect(defaultIntentFor('action_get_h_t_t_p_status')).toBe('GetHTTPStatus');
  });
});

describe('RasaActionMap', () => {
  const map = new RasaActionMap({
    check_balance_action: 'GetAccountBalance',
    action_test_conversation: 'TestRich',
    action_orphan: 'NotRegistered',
  });

  it('prefers the configured map over the default rule', () => {
    expect(map.intentFor('check_balance_action')).toBe('GetAccountBalance');
    expect(map.intentFor('action_test_conversation')).toBe('TestRich');
    expect(map.intentFor('action_get_account_balance')).toBe('GetAccountBalance');
    expect(map.intentFor('utter_greet')).toBeUndefined();
  });

  it('does not treat inherited object keys as configured names', () => {
    expect(new RasaActionMap({}).intentFor('constructor')).toBeUndefined();
    expect(new RasaActionMap({}).intentFor('toString')).toBeUndefined();
  });

  it('lists every name that reaches a registered intent, sorted and without duplicates', () => {
    expect(map.actionNames(['GetAccountBalance', 'TestConversation', 'TestRich', 'greet'])).toEqual([
      'action_get_account_balance',
      'action_test_conversation',
      'action_test_rich',
      'check_balance_action',
    ]);
    // TestConversation is not listed: the configured map sends its default name to TestRich.
  });

  it('lists the default names when nothing is configured', () => {
    expect(new RasaActionMap({}).actionNames(['GetRecentTransactions', 'GetAccountBalance'])).toEqual([
      'action_get_account_balance',
      'action_get_recent_transactions',
    ]);
    expect(new RasaActionMap({}).actionNames([])).toEqual([]);
  });
});
