// GPU twin of crates/features/src/boundary_map.rs: the central-difference gradient magnitude
// of the local noise map (local_std.wgsl), 0 on the map's border. One invocation per cell.

@group(0) @binding(0) var<storage, read> local_std: array<f32>;
@group(0) @binding(1) var<storage, read> frames: array<MapFrame>;
@group(0) @binding(2) var<storage, read_write> boundary: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let f = frames[id.y];
    let w = f.map_width;
    let h = f.map_height;
    if (id.x >= w * h) {
        return;
    }
    let x = id.x % w;
    let y = id.x / w;
    var g = 0.0;
    if (x >= 1u && y >= 1u && x + 1u < w && y + 1u < h) {
        let at = f.map_offset + y * w + x;
        let gx = (local_std[at + 1u] - local_std[at - 1u]) * 0.5;
        let gy = (local_std[at + w] - local_std[at - w]) * 0.5;
        g = sqrt(gx * gx + gy * gy);
    }
    boundary[f.map_offset + id.x] = g;
}
