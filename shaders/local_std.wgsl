// GPU twin of crates/features/src/local_std.rs: the standard deviation of the noise residual
// R = I - (sum of the 8 neighbours) / 8 in each 8x8 block of interior pixels (blocks start at
// pixel (1, 1); partial blocks are left out), from exact integer sums of 8R. One workgroup
// per (block, view).

@group(0) @binding(0) var<storage, read> luma: array<u32>;
@group(0) @binding(1) var<storage, read> frames: array<MapFrame>;
@group(0) @binding(2) var<storage, read_write> local_std: array<f32>;

const BLOCK: u32 = 8u;
var<workgroup> partial: array<vec2<i32>, 64>;

fn pixel(byte_index: u32) -> i32 {
    return i32((luma[byte_index >> 2u] >> ((byte_index & 3u) * 8u)) & 0xffu);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let f = frames[wg.y];
    let blocks = f.map_width * f.map_height;
    var acc = vec2<i32>(0, 0);
    if (wg.x < blocks) {
        let x = 1u + (wg.x % f.map_width) * BLOCK + lid % BLOCK;
        let y = 1u + (wg.x / f.map_width) * BLOCK + lid / BLOCK;
        var block_sum = 0;
        for (var dy = 0u; dy < 3u; dy++) {
            let row = f.offset + (y + dy - 1u) * f.width;
            block_sum += pixel(row + x - 1u) + pixel(row + x) + pixel(row + x + 1u);
        }
        let r8 = 9 * pixel(f.offset + y * f.width + x) - block_sum;
        acc = vec2<i32>(r8, r8 * r8);
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    if (lid == 0u && wg.x < blocks) {
        let k = f32(BLOCK * BLOCK);
        let mean = f32(partial[0].x) / k;
        local_std[f.map_offset + wg.x] = sqrt(max(f32(partial[0].y) / k - mean * mean, 0.0)) / 8.0;
    }
}
