// The Dockerfile read as its stages and instructions, for the tests that hold the image to what
// can be checked without a Docker engine (image-build, supply-chain, docker-context): they run
// or compare the file's own lines, so the tests and the file cannot drift apart.
import { readFileSync } from 'node:fs';

export interface Instruction {
  op: string;
  /** The text after the keyword, continuation lines joined. */
  args: string;
}

export interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

export const DOCKERFILE = new URL('../../Dockerfile', import.meta.url).pathname;

/** The stages in order; comments and the `# syntax=` directive are left out. */
export function dockerfileStages(text = readFileSync(DOCKERFILE, 'utf8')): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile: cannot read ${JSON.stringify(line)}`);
    const op = (m[1] as string).toUpperCase();
    const args = m[2] as string;
    if (op === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`Dockerfile: cannot read FROM ${args}`);
      stages.push({ image: from[1] as string, name: from[2], instructions: [] });
    } else if (stages.length === 0) {
      if (op !== 'ARG') throw new Error(`Dockerfile: ${op} before the first FROM`);
    } else {
      (stages.at(-1) as Stage).instructions.push({ op, args });
    }
  }
  return stages;
}

export function stage(name: string, stages = dockerfileStages()): Stage {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`Dockerfile: no stage ${name}`);
  return found;
}

export interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
}

/** A COPY instruction's flags, sources and destination (no --chown/--chmod: the image keeps root's). */
export function parseCopy(args: string): Copy {
  const words = args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift() as string;
    const m = /^--from=(\S+)$/.exec(flag);
    if (!m) throw new Error(`COPY ${flag}: not handled by the image tests`);
    from = m[1];
  }
  if (words.length < 2) throw new Error(`COPY ${args}: a source and a destination expected`);
  return { from, sources: words.slice(0, -1), dest: words.at(-1) as string };
}
