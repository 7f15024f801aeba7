// GPU twin of crates/features/src/power_spectrum.rs: Hann-windowed, mean-free 2-D FFT of
// square tiles and the power of the half spectrum u in 0..=n/2 (sample u*n + v), divided by
// the window energy. Two passes of this one entry point (`params.stage`):
//   pass 0, one workgroup per (tile, row y):    window, FFT along x, write u = 0..=n/2 to
//           `work[spectrum_offset + u*n + y]` (transposed, so that pass 1 reads contiguously);
//   pass 1, one workgroup per (tile, column u): FFT along y, write |X|^2 * inv_energy to
//           `power[spectrum_offset + u*n + v]`.
// Twiddles and windows come from tables computed in f64 on the host (GPU sin/cos may be
// coarse): for size n, twiddle k (k < n/2) is at n/2 - 8 + k, window sample i at n - 16 + i.

struct Params {
    stage: u32,
}

@group(0) @binding(0) var<storage, read> luma: array<u32>;
@group(0) @binding(1) var<storage, read> tiles: array<Tile>;
@group(0) @binding(2) var<storage, read> means: array<f32>;
@group(0) @binding(3) var<storage, read> twiddles: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> windows: array<f32>;
@group(0) @binding(5) var<storage, read_write> work: array<vec2<f32>>;
@group(0) @binding(6) var<storage, read_write> power: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

const THREADS: u32 = 256u;
var<workgroup> data: array<vec2<f32>, 1024>;

fn pixel(byte_index: u32) -> f32 {
    return f32((luma[byte_index >> 2u] >> ((byte_index & 3u) * 8u)) & 0xffu);
}

fn bit_reverse(i: u32, bits: u32) -> u32 {
    return reverseBits(i) >> (32u - bits);
}

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

var<workgroup> size: u32;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let t = tiles[wg.y];
    if (lid == 0u) {
        size = t.n;
    }
    let n = workgroupUniformLoad(&size);
    // Row y in pass 0, column u in pass 1; the grid is sized for the largest tile.
    let line = wg.x;
    let lines = select(n, n / 2u + 1u, params.stage == 1u);
    if (line >= lines) {
        return;
    }
    let bits = countTrailingZeros(n);
    let tw = n / 2u - 8u;
    let win = n - 16u;
    if (params.stage == 0u) {
        let mean = means[wg.y];
        let wy = windows[win + line];
        let row = t.frame_offset + (t.y + line) * t.stride + t.x;
        for (var i = lid; i < n; i += THREADS) {
            let v = (pixel(row + i) - mean) * (windows[win + i] * wy);
            data[bit_reverse(i, bits)] = vec2<f32>(v, 0.0);
        }
    } else {
        let base = t.spectrum_offset + line * n;
        for (var i = lid; i < n; i += THREADS) {
            data[bit_reverse(i, bits)] = work[base + i];
        }
    }
    workgroupBarrier();
    // Radix-2 decimation in time, in place.
    for (var m = 2u; m <= n; m <<= 1u) {
        let half = m >> 1u;
        let stride = n / m;
        for (var b = lid; b < n / 2u; b += THREADS) {
            let k = b % half;
            let i = (b / half) * m + k;
            let j = i + half;
            let x = cmul(twiddles[tw + k * stride], data[j]);
            let u = data[i];
            data[i] = u + x;
            data[j] = u - x;
        }
        workgroupBarrier();
    }
    if (params.stage == 0u) {
        for (var u = lid; u <= n / 2u; u += THREADS) {
            work[t.spectrum_offset + u * n + line] = data[u];
        }
    } else {
        let base = t.spectrum_offset + line * n;
        for (var v = lid; v < n; v += THREADS) {
            let c = data[v];
            power[base + v] = (c.x * c.x + c.y * c.y) * t.inv_energy;
        }
    }
}
