import { describe, expect, it } from 'vitest';
import { isRepriseError } from '../core/errors.js';
import { requireTool, runToolText, runToolWithInput, toolOutput, whichTool } from './process.js';

const opts = () => ({ signal: new AbortController().signal });

async function collect(it: AsyncIterable<Uint8Array>): Promise<{ text: string; error: unknown }> {
  let text = '';
  try {
    for await (const chunk of it) text += Buffer.from(chunk).toString();
    return { text, error: undefined };
  } catch (error) {
    return { text, error };
  }
}

describe('toolOutput', () => {
  it('streams stdout and succeeds on exit 0', async () => {
    const { text, error } = await collect(toolOutput('sh', ['-c', 'echo hello; echo world'], opts()));
    expect(error).toBeUndefined();
    expect(text).toBe('hello\nworld\n');
  });

  it('errors at the end of the stream when the tool exits non-zero, with its stderr', async () => {
    const { text, error } = await collect(toolOutput('sh', ['-c', 'echo partial; echo "boom: disk full" >&2; exit 3'], opts()));
    expect(text).toBe('partial\n');
    expect(isRepriseError(error, 'REPRISE_TOOL_FAILED')).toBe(true);
    expect((error as Error).message).toContain('boom: disk full');
    expect((error as Error).message).toContain('code 3');
  });

  it('reports a missing tool as REPRISE_TOOL_MISSING', async () => {
    const { error } = await collect(toolOutput('reprise-no-such-tool-xyz', [], opts()));
    expect(isRepriseError(error, 'REPRISE_TOOL_MISSING')).toBe(true);
    expect(() => requireTool(['reprise-no-such-tool-xyz'], 'nothing')).toThrow(/not installed|none of/);
    expect(whichTool(['sh'])).toMatch(/\/sh$/);
  });

  it('aborts a running tool', async () => {
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 100);
    const { error } = await collect(toolOutput('sh', ['-c', 'echo x; sleep 20'], { signal: ac.signal }));
    expect(isRepriseError(error, 'REPRISE_ABORTED')).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('kills the tool when the consumer abandons the stream', async () => {
    const gen = toolOutput('sh', ['-c', 'echo $$; exec sleep 20'], opts());
    const first = await gen.next();
    const pid = Number(Buffer.from(first.value as Uint8Array).toString().trim());
    await gen.return(undefined);
    await new Promise((r) => setTimeout(r, 100));
    expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe('runToolWithInput', () => {
  it('feeds stdin and counts bytes', async () => {
    const input = (async function* () {
      yield Buffer.from('abc');
      yield Buffer.from('def');
    })();
    const res = await runToolWithInput('sh', ['-c', 'test "$(cat)" = abcdef'], input, opts());
    expect(res.bytes).toBe(6);
  });

  it('throws REPRISE_TOOL_FAILED with stderr when the tool fails', async () => {
    const input = (async function* () {
      yield Buffer.from('x');
    })();
    const err = await runToolWithInput('sh', ['-c', 'cat >/dev/null; echo "ERROR 1064 syntax" >&2; exit 1'], input, opts()).catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_TOOL_FAILED')).toBe(true);
    expect((err as Error).message).toContain('ERROR 1064');
  });

  it('fails when the input stream fails even if the tool exits 0', async () => {
    const input = (async function* () {
      yield Buffer.from('x');
      throw new Error('chunk verification failed');
    })();
    const err = await runToolWithInput('sh', ['-c', 'cat >/dev/null'], input, opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('chunk verification failed');
  });

  it('runToolText returns stdout', async () => {
    expect(await runToolText('sh', ['-c', 'printf v1.2'], opts())).toBe('v1.2');
  });
});
