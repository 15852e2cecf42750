// client.mjs drives an MLflow tracking server with a third-party client,
// the mlflow package on npm, through its own API only, so that
// server/npm_test.go sees the server as that client's users do.
//
//   node client.mjs TRACKING_URI RESULT.json
//
// It writes what every call answered to RESULT.json, not to standard
// output, because the package prints the body of every POST it sends with
// console.log. Any unexpected failure exits 1 with its message.
import { writeFileSync } from 'node:fs';
import MLflow from 'mlflow';
import enums from 'mlflow/enum.js';

const { ViewType, RunStatus } = enums;
const [uri, out] = process.argv.slice(2);
if (!uri || !out) {
  console.error('usage: node client.mjs TRACKING_URI RESULT.json');
  process.exit(2);
}

const client = new MLflow({ endpoint: uri });
const { Experiments, Runs, Metrics } = client;

// apiError returns the MLflow error answer carried by an error of the
// package, which wraps {status, statusText, data} as JSON in its message
// (twice over: "Error: {...}"), or null when err is not one.
function apiError(err) {
  const msg = String(err && err.message);
  const i = msg.indexOf('{');
  if (i < 0) return null;
  try {
    return JSON.parse(msg.slice(i));
  } catch {
    return null;
  }
}

// The timestamps are fixed so that the test can check them exactly.
const t0 = 1700000000000;
const result = {};

async function main() {
  result.create_experiment = await Experiments.create({ name: 'npm-exp' });
  const expId = result.create_experiment.experiment_id;
  if (!expId) throw new Error(`experiments/create answered no id: ${JSON.stringify(result.create_experiment)}`);

  // A second create of the same name must fail, and the package must
  // surface the server's error code.
  try {
    const again = await Experiments.create({ name: 'npm-exp' });
    throw new Error(`creating npm-exp again succeeded: ${JSON.stringify(again)}`);
  } catch (err) {
    const e = apiError(err);
    if (!e) throw err;
    result.create_experiment_again = e;
  }

  result.get_experiment = await Experiments.get({ experiment_id: expId });
  // The package has no get-by-name: its users find an experiment by name
  // in the listing.
  const listed = await Experiments.list({ view_type: ViewType.ACTIVE_ONLY });
  result.experiment_by_name = (listed.experiments || []).find((e) => e.name === 'npm-exp') || null;

  // The package's Runs.create sends no run_name: the name goes in the
  // mlflow.runName tag, as MLflow's older clients did.
  result.create_run = await Runs.create({
    experiment_id: expId,
    user_id: 'ada',
    start_time: t0,
    tags: [
      { key: 'mlflow.runName', value: 'npm-run' },
      { key: 'team', value: 'vision' },
    ],
  });
  const runId = result.create_run.run.info.run_id;

  await Runs.logParameter({ run_id: runId, key: 'epochs', value: '100' });
  await Runs.logParameter({ run_id: runId, key: 'lr', value: '0.01' });
  await Runs.logParameter({ run_id: runId, key: 'optimizer', value: 'adam' });
  const losses = [2, 1, 0.5, 0.25];
  for (const [step, value] of losses.entries()) {
    await Runs.logMetric({ run_id: runId, key: 'loss', value, timestamp: t0 + 1000 * step, step });
  }
  result.log_batch = await Runs.logBatch({
    run_id: runId,
    metrics: [
      { key: 'accuracy', value: 0.5, timestamp: t0 + 4000, step: 4 },
      { key: 'accuracy', value: 0.75, timestamp: t0 + 5000, step: 5 },
      { key: 'loss', value: 0.125, timestamp: t0 + 5000, step: 5 },
    ],
    params: [{ key: 'batch_size', value: '32' }],
    tags: [{ key: 'stage', value: 'batch' }],
  });
  await Runs.setTag({ run_id: runId, key: 'doomed', value: 'yes' });
  result.get_run_tagged = await Runs.get({ run_id: runId });
  await Runs.deleteTag({ run_id: runId, key: 'doomed' });
  result.get_run = await Runs.get({ run_id: runId });

  // A second run whose loss stays high, for the filter to leave out and
  // the ordering to put first.
  result.create_baseline = await Runs.create({
    experiment_id: expId,
    start_time: t0,
    tags: [{ key: 'mlflow.runName', value: 'npm-baseline' }],
  });
  const baseId = result.create_baseline.run.info.run_id;
  await Runs.logMetric({ run_id: baseId, key: 'loss', value: 1.5, timestamp: t0, step: 0 });
  await Runs.update({ run_id: baseId, status: RunStatus.FINISHED, end_time: t0 + 1000 });

  result.search_filtered = await Runs.search({
    experiment_ids: [expId],
    filter: 'metrics.loss < 1',
    run_view_type: ViewType.ACTIVE_ONLY,
    order_by: ['metrics.loss ASC'],
    max_results: 10,
  });
  result.search_ordered = await Runs.search({
    experiment_ids: [expId],
    order_by: ['metrics.loss DESC'],
    max_results: 10,
  });

  result.loss_history = await Metrics.getHistory({ run_id: runId, metric_key: 'loss' });

  result.update_run = await Runs.update({ run_id: runId, status: RunStatus.FINISHED, end_time: t0 + 6000 });
  result.get_run_finished = await Runs.get({ run_id: runId });

  result.list_experiments = await Experiments.list();
}

try {
  await main();
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
} catch (err) {
  console.error(`npm mlflow client: ${err && err.message}`);
  process.exit(1);
}
