// fogbank's COCO object detector: a long-lived worker that fogbank starts and talks to over pipes.
//
// The model is MB3-CenterNet (a MobileNetV3 CenterNet trained on COCO's 80 classes, converted to a
// TensorFlow.js graph model), shipped inside the npm package @vladmandic/human (MIT); it runs on
// TensorFlow.js's WebAssembly backend (Apache-2.0), whose .wasm files ship in @tensorflow/tfjs-backend-wasm.
// Nothing is downloaded: every file is read from node_modules next to this script.
//
// Protocol, one JSON object per line:
//   stdout at start:  {"ready": true, "model": ..., "backend": ..., "input": 512}  or  {"fatal": "reason"}
//   stdin request:    {"id": 7, "width": W, "height": H, "rgb_base64": "<W*H*3 bytes, row-major RGB>",
//                      "min_score": 0.15, "max_detections": 100}
//   stdout answer:    {"id": 7, "detections": [{"class": "cup", "class_index": 41, "score": 0.57,
//                      "box": [x, y, w, h]}]}   (pixels of the image sent)   or  {"id": 7, "error": "reason"}
// The worker exits when its standard input closes, so it never outlives the server that started it.

import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

// Protocol lines are the only thing on stdout: anything a library logs goes to stderr.
const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
for (const name of ['log', 'info', 'warn', 'debug']) {
  console[name] = (...args) => process.stderr.write(`${args.map(String).join(' ')}\n`);
}

const MODEL_DIRS = [
  path.join(here, 'node_modules', '@vladmandic', 'human', 'models'),
  path.join(here, 'node_modules', '@vladmandic', 'human-models', 'models'),
];
const OUTPUT = 'tower_0/detections';
const MAX_SIDE = 8192;
const IOU_LIMIT = 0.5;

// COCO's 80 detection classes in the order of the network's class output.
const CLASSES = [
  'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
  'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
  'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
  'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard',
  'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
  'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
  'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone',
  'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear',
  'hair drier', 'toothbrush',
];

function modelDir() {
  const found = MODEL_DIRS.find((dir) => fs.existsSync(path.join(dir, 'centernet.json')));
  if (!found) throw new Error(`centernet.json not found under ${MODEL_DIRS.join(' or ')} (run npm ci in ${here})`);
  return found;
}

// The graph model is read from disk into memory: without tfjs-node there is no file:// loader.
async function loadModel(tf, converter, dir) {
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'centernet.json'), 'utf8'));
  const weightSpecs = [];
  const parts = [];
  for (const group of spec.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const file of group.paths) parts.push(fs.readFileSync(path.join(dir, path.basename(file))));
  }
  const weights = Buffer.concat(parts);
  const artifacts = {
    modelTopology: spec.modelTopology, format: spec.format, generatedBy: spec.generatedBy,
    convertedBy: spec.convertedBy, signature: spec.signature, weightSpecs,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  };
  const model = await converter.loadGraphModel(tf.io.fromMemory(artifacts));
  const dims = spec.signature?.inputs?.['tower_0/images']?.tensorShape?.dim;
  const size = dims ? Number.parseInt(dims[1].size, 10) : 512;
  return { model, size };
}

function iou(a, b) {
  const x1 = Math.max(a[0], b[0]);
  const y1 = Math.max(a[1], b[1]);
  const x2 = Math.min(a[0] + a[2], b[0] + b[2]);
  const y2 = Math.min(a[1] + a[3], b[1] + b[3]);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / union : 0;
}

// CenterNet's top-k peaks include near-copies of the same object; keep the best box per class and place.
function suppress(found, limit) {
  const kept = [];
  for (const item of [...found].sort((p, q) => q.score - p.score)) {
    if (kept.some((k) => k.class_index === item.class_index && iou(k.box, item.box) > IOU_LIMIT)) continue;
    kept.push(item);
    if (kept.length >= limit) break;
  }
  return kept;
}

function validated(request) {
  const { width, height } = request;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1
      || width > MAX_SIDE || height > MAX_SIDE) {
    throw new Error(`width and height must be integers between 1 and ${MAX_SIDE}`);
  }
  if (typeof request.rgb_base64 !== 'string') throw new Error('rgb_base64 must be a string');
  const pixels = Buffer.from(request.rgb_base64, 'base64');
  if (pixels.length !== width * height * 3) {
    throw new Error(`rgb_base64 holds ${pixels.length} bytes, expected ${width * height * 3} (width*height*3)`);
  }
  const minScore = Number.isFinite(request.min_score) ? request.min_score : 0.15;
  const limit = Number.isInteger(request.max_detections) && request.max_detections > 0 ? request.max_detections : 100;
  return { width, height, pixels, minScore, limit };
}

async function detect(tf, net, request) {
  const { width, height, pixels, minScore, limit } = validated(request);
  // The network saw square images: pad right and bottom to a square so objects keep their proportions.
  const side = Math.max(width, height);
  const output = tf.tidy(() => {
    const image = tf.cast(tf.tensor3d(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.length),
      [height, width, 3], 'int32'), 'float32');
    const square = tf.pad(image, [[0, side - height], [0, side - width], [0, 0]]);
    const input = tf.image.resizeBilinear(tf.expandDims(square, 0), [net.size, net.size]);
    return net.model.execute(input, OUTPUT);
  });
  const rows = (await output.array())[0];
  output.dispose();
  const scale = side / net.size;
  const found = [];
  for (const [x1, y1, x2, y2, score, klass] of rows) {
    const index = Math.round(klass);
    if (!(score >= minScore) || !Number.isFinite(klass) || index < 0 || index >= CLASSES.length) continue;
    const left = Math.min(width, Math.max(0, x1 * scale));
    const top = Math.min(height, Math.max(0, y1 * scale));
    const right = Math.min(width, Math.max(0, x2 * scale));
    const bottom = Math.min(height, Math.max(0, y2 * scale));
    if (right - left < 1 || bottom - top < 1) continue;
    const round = (v) => Math.round(v * 10) / 10;
    found.push({
      class: CLASSES[index], class_index: index, score: Math.round(score * 10000) / 10000,
      box: [round(left), round(top), round(right - left), round(bottom - top)],
    });
  }
  return suppress(found, limit);
}

async function main() {
  let tf;
  let net;
  try {
    tf = require('@tensorflow/tfjs-core');
    const converter = require('@tensorflow/tfjs-converter');
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    const wasmDir = path.join(here, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
    wasm.setWasmPaths(`${wasmDir}${path.sep}`);
    if (!(await tf.setBackend('wasm'))) throw new Error('the TensorFlow.js WebAssembly backend did not start');
    await tf.ready();
    net = await loadModel(tf, converter, modelDir());
    // One inference before answering ready, so the first real request does not pay for compilation.
    tf.tidy(() => net.model.execute(tf.zeros([1, net.size, net.size, 3]), OUTPUT)).dispose();
  } catch (error) {
    send({ fatal: String(error?.message ?? error) });
    process.exit(1);
  }
  send({ ready: true, model: 'MB3-CenterNet COCO', backend: tf.getBackend(), input: net.size });

  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let id = null;
    try {
      const request = JSON.parse(line);
      id = request.id ?? null;
      send({ id, detections: await detect(tf, net, request) });
    } catch (error) {
      send({ id, error: String(error?.message ?? error) });
    }
  }
  process.exit(0);
}

main();
