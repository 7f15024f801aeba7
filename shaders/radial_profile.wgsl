// GPU twin of crates/features/src/radial_profile.rs: per (view, ring) the weighted sum, mean,
// log10 mean and median of the view's tile-averaged power spectrum. One workgroup per
// (ring, view). Also writes the tile-averaged power of the ring's samples to `avg` for
// spectral_stats.wgsl.

@group(0) @binding(0) var<storage, read> power: array<f32>;
@group(0) @binding(1) var<storage, read> tiles: array<Tile>;
@group(0) @binding(2) var<storage, read> views: array<View>;
@group(0) @binding(3) var<storage, read> layouts: array<Layout>;
@group(0) @binding(4) var<storage, read> tables: array<u32>;
@group(0) @binding(5) var<storage, read_write> avg: array<f32>;
// (sum, mean, log10(mean + 1e-12), median) per (view, ring).
@group(0) @binding(6) var<storage, read_write> profile: array<vec4<f32>>;

const THREADS: u32 = 256u;
const MAX_MEMBERS: u32 = 2048u;
const DOUBLE: u32 = 0x80000000u;

var<workgroup> partial: array<f32, 256>;
var<workgroup> values: array<f32, 2048>;
var<workgroup> median: f32;

// Tile-averaged power of sample `i` of a view (tiles summed in order, then divided).
fn averaged(v: View, i: u32) -> f32 {
    var s = 0.0;
    for (var t = 0u; t < v.tile_count; t++) {
        s += power[tiles[v.first_tile + t].spectrum_offset + i];
    }
    return s / f32(v.tile_count);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let v = views[wg.y];
    let l = layouts[v.layout_index];
    let b = wg.x;
    if (b >= l.bins) {
        return;
    }
    // Weighted sum over every sample of the ring (a sample with a mirror counts twice).
    var s = 0.0;
    for (var k = tables[l.ring_start + b] + lid; k < tables[l.ring_start + b + 1u]; k += THREADS) {
        let e = tables[l.ring + k];
        let i = e & ~DOUBLE;
        let p = averaged(v, i);
        avg[v.avg_offset + i] = p;
        s += select(1.0, 2.0, (e & DOUBLE) != 0u) * p;
    }
    partial[lid] = s;
    // Median over the ring's open half-plane members, by rank counting.
    let m_start = tables[l.median_start + b];
    let m = min(tables[l.median_start + b + 1u] - m_start, MAX_MEMBERS);
    for (var j = lid; j < m; j += THREADS) {
        values[j] = averaged(v, tables[l.median + m_start + j]);
    }
    if (lid == 0u) {
        median = 0.0;
    }
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    let k = (max(m, 1u) - 1u) / 2u;
    for (var j = lid; j < m; j += THREADS) {
        let x = values[j];
        var less = 0u;
        var not_more = 0u;
        for (var i = 0u; i < m; i++) {
            less += select(0u, 1u, values[i] < x);
            not_more += select(0u, 1u, values[i] <= x);
        }
        if (less <= k && k < not_more) {
            median = x;
        }
    }
    workgroupBarrier();
    if (lid == 0u) {
        let count = tables[l.counts + b];
        let sum = partial[0];
        var mean = 0.0;
        if (count > 0u) {
            mean = sum / f32(count);
        }
        profile[v.profile_offset + b] = vec4<f32>(sum, mean, log(mean + 1e-12) / log(10.0), median);
    }
}
