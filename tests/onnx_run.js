// Runs an ONNX model with ONNX Runtime (onnxruntime-node) on CSV rows and
// prints its outputs as CSV, one row per sample, the outputs one after
// another: what tests/test_export.sh compares with nnkit predict.
//   node onnx_run.js MODEL.onnx ROWS.csv NAME:D1xD2... [NAME:...]
// ROWS.csv: a header line, then each sample's inputs one after another.
const fs = require("fs");
const path = require("path");
const ort = require(process.env.ORT_NODE || path.join(__dirname, "..", "build-deps", "node_modules", "onnxruntime-node"));

async function main() {
  const [model, csv, ...specs] = process.argv.slice(2);
  const inputs = specs.map((s) => {
    const [name, dims] = s.split(":");
    const shape = dims.split("x").map(Number);
    return { name, shape, size: shape.reduce((a, b) => a * b, 1) };
  });
  const rows = fs.readFileSync(csv, "utf8").trim().split("\n").slice(1).map((l) => l.split(",").map(Number));
  const session = await ort.InferenceSession.create(model);
  const feeds = {};
  let at = 0;
  for (const inp of inputs) {
    const data = new Float32Array(rows.length * inp.size);
    rows.forEach((r, i) => data.set(r.slice(at, at + inp.size), i * inp.size));
    feeds[inp.name] = new ort.Tensor("float32", data, [rows.length, ...inp.shape]);
    at += inp.size;
  }
  const results = await session.run(feeds);
  const outs = session.outputNames.map((n) => results[n]);
  const lines = [];
  for (let i = 0; i < rows.length; i++) {
    const vals = [];
    for (const o of outs) {
      const w = o.data.length / rows.length;
      for (let j = 0; j < w; j++) vals.push(o.data[i * w + j].toPrecision(9));
    }
    lines.push(vals.join(","));
  }
  process.stdout.write(lines.join("\n") + "\n");
}
main().catch((e) => {
  console.error("onnx_run: " + e.message);
  process.exit(1);
});
