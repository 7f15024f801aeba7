// GPU twin of crates/features/src/tile_mean.rs: the mean luma of each square tile, from an
// exact integer sum (one workgroup per tile).

@group(0) @binding(0) var<storage, read> luma: array<u32>;
@group(0) @binding(1) var<storage, read> tiles: array<Tile>;
@group(0) @binding(2) var<storage, read_write> means: array<f32>;

var<workgroup> partial: array<u32, 256>;

fn pixel(byte_index: u32) -> u32 {
    return (luma[byte_index >> 2u] >> ((byte_index & 3u) * 8u)) & 0xffu;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let t = tiles[wg.x];
    var sum = 0u;
    for (var i = lid; i < t.n * t.n; i += 256u) {
        let row = t.y + i / t.n;
        let col = t.x + i % t.n;
        sum += pixel(t.frame_offset + row * t.stride + col);
    }
    partial[lid] = sum;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (lid < s) {
            partial[lid] += partial[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        means[wg.x] = f32(partial[0]) / f32(t.n * t.n);
    }
}
