// GPU twin of crates/features/src/noise_residual.rs: the high-pass noise residual
// R = I - (sum of the 8 neighbours) / 8, summed as exact integers of 8R over runs of 256
// interior pixels of one row. One workgroup per (frame, row, run); the host adds the runs
// up in 64 bits and takes the standard deviation, so GPU and CPU agree exactly.

// 8-bit luma of all frames of the batch, four pixels per word, little-endian.
@group(0) @binding(0) var<storage, read> luma: array<u32>;
@group(0) @binding(1) var<storage, read> frames: array<Frame>;
// (sum of 8R, sum of (8R)^2) per (frame, interior row, run of 256 pixels).
@group(0) @binding(2) var<storage, read_write> sums: array<vec2<i32>>;

const RUN: u32 = 256u;
var<workgroup> partial: array<vec2<i32>, 256>;

fn pixel(byte_index: u32) -> i32 {
    let word = luma[byte_index >> 2u];
    return i32((word >> ((byte_index & 3u) * 8u)) & 0xffu);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let f = frames[wg.y];
    let runs = (f.width - 2u + RUN - 1u) / RUN;
    let tasks = runs * (f.height - 2u);
    var acc = vec2<i32>(0, 0);
    if (wg.x < tasks) {
        let y = wg.x / runs + 1u;
        let x = (wg.x % runs) * RUN + lid + 1u;
        if (x < f.width - 1u) {
            var block = 0;
            for (var dy = 0u; dy < 3u; dy++) {
                let row = f.offset + (y + dy - 1u) * f.width;
                block += pixel(row + x - 1u) + pixel(row + x) + pixel(row + x + 1u);
            }
            let r8 = 9 * pixel(f.offset + y * f.width + x) - block;
            acc = vec2<i32>(r8, r8 * r8);
        }
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    if (lid == 0u && wg.x < tasks) {
        sums[f.out_offset + wg.x] = partial[0];
    }
}
