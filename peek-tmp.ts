import bench from './bench/stats-http.bench.js';
const r = await bench();
console.log(r.markdown);
