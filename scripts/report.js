#!/usr/bin/env node
// Regenerates the README results table and docs/learning_curve.png from the shipped weight cards
// (weights/*.safetensors.json, written by scripts/ship-weights.js) and a fresh bicubic evaluation.
//   npm run build && node scripts/report.js
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { runEval } from '../dist/eval/run.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sets = ['Set5', 'Set14', 'B100'];
// Published numbers (PSNR/SSIM, Y): IMDN, ACM MM 2019, Table of benchmark results.
const paper = {
  imdn: {
    2: { Set5: [38.0, 0.9605], Set14: [33.63, 0.9177], B100: [32.19, 0.8996] },
    3: { Set5: [34.36, 0.927], Set14: [30.32, 0.8417], B100: [29.09, 0.8046] },
    4: { Set5: [32.21, 0.8948], Set14: [28.58, 0.7811], B100: [27.56, 0.7353] },
  },
};

const cards = fs.readdirSync(path.join(root, 'weights')).filter((f) => f.endsWith('.safetensors.json'))
  .map((f) => ({ file: f.replace(/\.json$/, ''), ...JSON.parse(fs.readFileSync(path.join(root, 'weights', f), 'utf8')) }))
  .sort((a, b) => a.architecture.localeCompare(b.architecture) || a.scale - b.scale);
const scales = [...new Set(cards.map((c) => c.scale))].sort();
const bicubic = Object.fromEntries((await runEval({ model: 'bicubic', scales, data: sets })).map((r) => [r.scale, r.datasets]));

const label = (a) => ({ imdn: 'IMDN', rdnesa: 'RDB+CA+ESA' })[a] ?? a.toUpperCase();
const cell = (p, s, d = 2) => `${p.toFixed(d)} / ${s.toFixed(4)}`;
const lines = [
  '| scale | method | Set5 | Set14 | B100 | iterations (wall) |',
  '|---|---|---|---|---|---|',
];
for (const s of scales) {
  lines.push(`| ×${s} | Bicubic | ${bicubic[s].map((d) => cell(d.psnr, d.ssim)).join(' | ')} | |`);
  for (const c of cards.filter((x) => x.scale === s)) {
    const r = c.benchmarks.results;
    const p = paper[c.architecture]?.[s];
    if (p) lines.push(`| ×${s} | ${label(c.architecture)} (paper) | ${sets.map((d) => cell(p[d][0], p[d][1])).join(' | ')} | |`);
    const hours = ((c.total_wall_seconds ?? c.wall_seconds) / 3600).toFixed(1);
    const rounds = c.rounds?.length > 1 ? `, ${c.rounds.length} rounds` : '';
    lines.push(`| ×${s} | **${label(c.architecture)} (ours)** | ${sets.map((d) => cell(r[d].psnr, r[d].ssim)).join(' | ')} | ${c.total_iterations ?? c.iteration} (${hours} h${rounds}) |`);
  }
}
const cmds = cards.map((c) => `lightsr eval --model ${c.architecture} --scale ${c.scale} --data ${sets.join(',')} --weights weights/${c.file}`);
const table = [...lines, '', 'Iterations are batches of 16 (HR patch 32·scale px), counted over all training rounds of the file (each round starts from the previous weights; its recipe is in the card\'s `rounds` and in docs/training.md); wall time is training time on 2 CPU cores. ×2/×3 first started from the ×4 body at iteration 2000.', '', 'Each "ours" row: `' + cmds.join('`; `') + '`.',
  `Bicubic rows: \`lightsr eval --model bicubic --scale ${scales.join(',')} --data ${sets.join(',')}\`.`].join('\n');

const readme = path.join(root, 'README.md');
const text = fs.readFileSync(readme, 'utf8');
const re = /(<!-- results:start -->\n)[\s\S]*?(<!-- results:end -->)/;
if (!re.test(text)) throw new Error('README.md has no <!-- results:start --> … <!-- results:end --> block');
fs.writeFileSync(readme, text.replace(re, `$1${table}\n$2`));

// Learning curve: validation PSNR (Set5) vs iteration, one line per shipped model (EMA weights where kept).
const W = 900, H = 520, L = 70, R = 200, T = 40, B = 60;
const series = cards.filter((c) => c.validation_curve?.length).map((c, i) => ({
  label: `${c.architecture} ×${c.scale}`, color: ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'][i % 5],
  pts: c.validation_curve.map((v) => [v.iter, v.psnr_ema ?? v.psnr]),
}));
const all = series.flatMap((s) => s.pts);
const xMax = Math.max(...all.map((p) => p[0]));
const yMin = Math.floor(Math.min(...all.map((p) => p[1]))), yMax = Math.ceil(Math.max(...all.map((p) => p[1])));
const X = (x) => L + (x / xMax) * (W - L - R), Y = (y) => T + (1 - (y - yMin) / (yMax - yMin || 1)) * (H - T - B);
let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans" font-size="14">`
  + `<rect width="${W}" height="${H}" fill="white"/><text x="${L}" y="24" font-size="16">Validation PSNR on Set5 (Y, dB) vs training iterations</text>`;
for (let y = yMin; y <= yMax; y++) svg += `<line x1="${L}" x2="${W - R}" y1="${Y(y)}" y2="${Y(y)}" stroke="#ddd"/><text x="${L - 8}" y="${Y(y) + 5}" text-anchor="end">${y}</text>`;
for (let k = 0; k <= 5; k++) { const x = (xMax * k) / 5; svg += `<text x="${X(x)}" y="${H - B + 22}" text-anchor="middle">${Math.round(x)}</text>`; }
svg += `<text x="${(L + W - R) / 2}" y="${H - 15}" text-anchor="middle">iteration</text>`;
series.forEach((s, i) => {
  svg += `<polyline fill="none" stroke="${s.color}" stroke-width="2.5" points="${s.pts.map(([x, y]) => `${X(x)},${Y(y)}`).join(' ')}"/>`;
  for (const [x, y] of s.pts) svg += `<circle cx="${X(x)}" cy="${Y(y)}" r="3.5" fill="${s.color}"/>`;
  svg += `<rect x="${W - R + 15}" y="${T + 10 + i * 24}" width="18" height="4" fill="${s.color}"/><text x="${W - R + 40}" y="${T + 16 + i * 24}">${s.label}</text>`;
});
svg += '</svg>';
fs.mkdirSync(path.join(root, 'docs'), { recursive: true });
await sharp(Buffer.from(svg)).png().toFile(path.join(root, 'docs', 'learning_curve.png'));
console.log(table);
