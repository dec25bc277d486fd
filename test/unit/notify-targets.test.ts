// --notify-url and its variable (src/config/notify-targets.ts): the format prefix, repeats and
// lists, and a URL that no error, log or JSON ever shows.
import { expect } from 'chai';
import { inspect } from 'node:util';
import { ConfigError, parseConfig } from '../../src/config.ts';
import { parseNotifyTargets } from '../../src/config/notify-targets.ts';

const SLACK = 'https://hooks.slack.com/services/T0/B0/sEcReT';
const TEAMS = 'https://prod.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=sEcReT2';

function config(argv: string[], env: Record<string, string> = {}) {
  const parsed = parseConfig(argv, env);
  if (parsed.help) throw new Error('help');
  return parsed.config;
}

describe('notifications: --notify-url', () => {
  it('takes a format prefix per URL, plain being the generic JSON', () => {
    const targets = parseNotifyTargets(`slack+${SLACK}\nteams+${TEAMS}, gchat+https://chat.googleapis.com/v1/spaces/X/messages?key=k&token=t,https://example.test/hook`, '--notify-url');
    expect(targets.map((t) => [t.format, t.label])).to.deep.equal([
      ['slack', 'slack hooks.slack.com'], ['teams', 'teams prod.westeurope.logic.azure.com'],
      ['gchat', 'gchat chat.googleapis.com'], ['json', 'json example.test'],
    ]);
    expect(targets[1]!.url()).to.equal(TEAMS);
  });

  it('is repeatable; its variable is a comma or newline list; both skip blanks and # lines', () => {
    expect(config(['--notify-url', `slack+${SLACK}`, '--notify-url', 'https://example.test/a']).notifyTargets.map(String))
      .to.deep.equal(['slack hooks.slack.com', 'json example.test']);
    expect(config([], { CONFIG_RELOAD_NOTIFY_URL: `# ours\nslack+${SLACK},\n\nhttps://example.test/a` }).notifyTargets.map(String))
      .to.deep.equal(['slack hooks.slack.com', 'json example.test']);
    expect(config([]).notifyTargets).to.deep.equal([]);
    expect(config(['--notify-url-file', '/etc/notify/urls']).notifyUrlFile).to.equal('/etc/notify/urls');
  });

  it('printed, logged or serialised, a target shows its format and host only', () => {
    const [t] = parseNotifyTargets(`slack+${SLACK}`, '--notify-url');
    for (const shown of [inspect(t), JSON.stringify({ t }), `${t}`, inspect({ cfg: config(['--notify-url', SLACK]) }, { depth: 5 })]) {
      expect(shown).not.to.include('sEcReT');
      expect(shown).to.include('hooks.slack.com');
    }
  });

  it('refuses bad entries by position, never quoting the URL', () => {
    const cases: Array<[string, RegExp]> = [
      [`slak+${SLACK}`, /^--notify-url: entry 1: unknown format "slak": expected \[FORMAT\+\]URL/],
      ['hooks.slack.com/services/sEcReT', /^--notify-url: entry 1: not a URL \(its text is not shown/],
      [`https://ok.test/a,ftp://files.test/sEcReT`, /^--notify-url: entry 2: expected an http or https URL, not ftp:$/],
      ['https://user:sEcReT@hooks.test/x', /^--notify-url: entry 1: a URL with user information is not taken/],
      [`${'x'.repeat(30)}sEcReT+https://a.test/b`, /^--notify-url: entry 1: unknown format: expected/],
    ];
    for (const [raw, message] of cases) {
      let error: unknown;
      try {
        config(['--notify-url', raw]);
      } catch (err) {
        error = err;
      }
      expect(error, raw).to.be.instanceOf(ConfigError);
      expect((error as Error).message).to.match(message);
      expect((error as Error).message).not.to.include('sEcReT');
    }
  });
});
