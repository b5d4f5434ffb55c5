/**
 * Plans an intent's steps for one message: walks the if/then/else tree in order, evaluating each
 * condition against the facts, and lists the actions that would run until a `stop` or `reject`.
 * `simulate` shows this plan, and the pipeline stores it as the job's initial plan.
 */
import type { MessageFacts } from '../message/facts.ts';
import { evaluateCondition, type ConditionTrace } from './conditions.ts';
import type { Step } from './types.ts';

/** An action the plan would run. `path` locates it in the intent's steps (`0.then.1`). */
export interface PlannedStep {
  path: string;
  action: string;
  name: string;
  params: Record<string, unknown>;
  line: number;
}

/** A branch decision, with the condition trace that made it. */
export interface PlanBranch {
  path: string;
  line: number;
  trace: ConditionTrace;
  taken: 'then' | 'else';
}

/** The planned actions in order, the branches taken, and whether a `stop` or `reject` ended the plan. */
export interface PlanResult {
  steps: PlannedStep[];
  branches: PlanBranch[];
  endedBy: 'stop' | 'reject' | null;
}

/** Walks a step list, appending to `plan`; returns true once the plan has ended. */
function walk(steps: Step[], prefix: string, facts: MessageFacts, plan: PlanResult): boolean {
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    const path = prefix === '' ? String(i) : `${prefix}.${i}`;
    if (step.kind === 'if') {
      const trace = evaluateCondition(step.when, facts);
      const taken = trace.result ? 'then' : 'else';
      plan.branches.push({ path, line: step.line, trace, taken });
      if (walk(taken === 'then' ? step.then : step.else, `${path}.${taken}`, facts, plan)) return true;
      continue;
    }
    plan.steps.push({ path, action: step.action, name: step.name, params: structuredClone(step.params), line: step.line });
    if (step.action === 'stop' || step.action === 'reject') {
      plan.endedBy = step.action;
      return true;
    }
  }
  return false;
}

/** Evaluates the step tree against the facts and returns the actions that would run, in order. */
export function planSteps(steps: Step[], facts: MessageFacts): PlanResult {
  const plan: PlanResult = { steps: [], branches: [], endedBy: null };
  walk(steps, '', facts, plan);
  return plan;
}
