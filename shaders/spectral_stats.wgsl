// GPU twin of crates/features/src/spectral_stats.rs: per view, the high-frequency energy
// fraction, the decay slope of the radial profile, the strongest off-axis peak over its
// ring's median, and the `spectrum` column (log10 ring means, an empty ring repeating the
// previous one). One workgroup per view. Output per view at `out_offset`:
// [hf_fraction, slope, peak_prominence, peak_fx, peak_fy, spectrum[0..bins]].

struct Config {
    slope_from: f32,
    slope_to: f32,
    pad0: f32,
    pad1: f32,
}

@group(0) @binding(0) var<storage, read> avg: array<f32>;
@group(0) @binding(1) var<storage, read> views: array<View>;
@group(0) @binding(2) var<storage, read> layouts: array<Layout>;
@group(0) @binding(3) var<storage, read> tables: array<u32>;
@group(0) @binding(4) var<storage, read> profile: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<uniform> config: Config;

const THREADS: u32 = 256u;
const DOUBLE: u32 = 0x80000000u;
const NONE: u32 = 0xffffffffu;

var<workgroup> high_part: array<f32, 256>;
var<workgroup> best_ratio: array<f32, 256>;
var<workgroup> best_index: array<u32, 256>;

fn log10(x: f32) -> f32 {
    return log(x) / log(10.0);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let v = views[wg.x];
    let l = layouts[v.layout_index];
    var high = 0.0;
    for (var k = lid; k < l.high_count; k += THREADS) {
        let e = tables[l.high + k];
        high += select(1.0, 2.0, (e & DOUBLE) != 0u) * avg[v.avg_offset + (e & ~DOUBLE)];
    }
    var ratio = 0.0;
    var index = NONE;
    for (var k = lid; k < l.peak_count; k += THREADS) {
        let i = tables[l.peak + 2u * k];
        let b = tables[l.peak + 2u * k + 1u];
        let r = avg[v.avg_offset + i] / max(profile[v.profile_offset + b].w, 1e-20);
        // Candidates come in index order: a strictly larger ratio wins, so the first
        // maximum is kept, as on the CPU.
        if (r > ratio) {
            ratio = r;
            index = i;
        }
    }
    high_part[lid] = high;
    best_ratio[lid] = ratio;
    best_index[lid] = index;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            high_part[lid] += high_part[lid + stride];
            let r = best_ratio[lid + stride];
            let i = best_index[lid + stride];
            if (r > best_ratio[lid] || (r == best_ratio[lid] && i < best_index[lid])) {
                best_ratio[lid] = r;
                best_index[lid] = i;
            }
        }
        workgroupBarrier();
    }
    if (lid != 0u) {
        return;
    }
    let bins = l.bins;
    var total = 0.0;
    var last = log10(1e-12);
    // Least squares of log power against log radius over the band, centred in two passes.
    var k = 0.0;
    var mx = 0.0;
    var my = 0.0;
    for (var b = 0u; b < bins; b++) {
        let p = profile[v.profile_offset + b];
        total += p.x;
        if (tables[l.counts + b] > 0u) {
            last = p.z;
        }
        out[v.out_offset + 5u + b] = last;
        let centre = (f32(b) + 0.5) / f32(bins);
        if (tables[l.counts + b] > 0u && centre >= config.slope_from && centre <= config.slope_to) {
            k += 1.0;
            mx += log10(centre);
            my += p.z;
        }
    }
    var slope = bitcast<f32>(0x7fc00000u);
    if (k >= 2.0) {
        mx /= k;
        my /= k;
        var sxy = 0.0;
        var sxx = 0.0;
        for (var b = 0u; b < bins; b++) {
            let centre = (f32(b) + 0.5) / f32(bins);
            if (tables[l.counts + b] > 0u && centre >= config.slope_from && centre <= config.slope_to) {
                let dx = log10(centre) - mx;
                sxy += dx * (profile[v.profile_offset + b].z - my);
                sxx += dx * dx;
            }
        }
        if (sxx > 0.0) {
            slope = sxy / sxx;
        }
    }
    var hf = 0.0;
    if (total > 0.0) {
        hf = high_part[0] / total;
    }
    var prominence = 0.0;
    var fx = 0.0;
    var fy = 0.0;
    let i = best_index[0];
    if (i != NONE && best_ratio[0] > 0.0) {
        prominence = log10(best_ratio[0]);
        let n = l.n;
        fx = f32(i / n) / f32(n);
        let vv = i % n;
        fy = f32(vv) / f32(n);
        if (vv >= n / 2u) {
            fy -= 1.0;
        }
    }
    out[v.out_offset] = hf;
    out[v.out_offset + 1u] = slope;
    out[v.out_offset + 2u] = prominence;
    out[v.out_offset + 3u] = fx;
    out[v.out_offset + 4u] = fy;
}
