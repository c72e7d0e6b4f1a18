// compress.mjs - write NAME.gz (gzip -9) and NAME.br (brotli, quality 11) beside every file of a folder
// when they are smaller than the file, for the dashboard to serve to browsers that accept them.
//   node compress.mjs DIR
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const dir = process.argv[2];
const files = fs.readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((d) => d.isFile() && !/\.(gz|br)$/.test(d.name))
  .map((d) => path.join(d.parentPath ?? d.path, d.name));
for (const f of files) {
  const data = fs.readFileSync(f);
  const gz = zlib.gzipSync(data, { level: 9 });
  const br = zlib.brotliCompressSync(data, {
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  });
  // a header's worth smaller at least, or the twin is not worth a lookup
  if (gz.length + 64 < data.length) fs.writeFileSync(`${f}.gz`, gz);
  if (br.length + 64 < data.length && br.length < gz.length) fs.writeFileSync(`${f}.br`, br);
}
