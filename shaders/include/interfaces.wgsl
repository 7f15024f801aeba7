// Interface structs shared by the shaders in shaders/ (WGSL has no include). crates/gpu/build.rs
// appends this file to every shader before validating it; the host mirrors each struct with a
// #[repr(C)] struct in crates/gpu. Not a shader: no entry point, no CPU twin.

// One view of noise_residual.wgsl: byte offset of its pixels in `luma`, its size, and the
// index of its first (row, run) result.
struct Frame {
    // Byte offset of the frame's first pixel in `luma`.
    offset: u32,
    width: u32,
    height: u32,
    // Index of the frame's first (row, run) result in `sums`.
    out_offset: u32,
}

// One view of local_std.wgsl / boundary_map.wgsl: byte offset of its pixels, its size, where
// its map starts in the outputs, and the map's size in blocks.
struct MapFrame {
    offset: u32,
    width: u32,
    height: u32,
    map_offset: u32,
    map_width: u32,
    map_height: u32,
    pad0: u32,
    pad1: u32,
}

// One square tile: its frame's byte offset in `luma` and row stride, its top-left corner and
// side, where its spectrum goes, and 1 / window energy.
struct Tile {
    frame_offset: u32,
    stride: u32,
    x: u32,
    y: u32,
    n: u32,
    spectrum_offset: u32,
    inv_energy: f32,
    pad: u32,
}

// One view of radial_profile.wgsl / spectral_stats.wgsl: its tile-size layout, its tiles,
// and where its averaged spectrum, profile and outputs go.
struct View {
    layout_index: u32,
    first_tile: u32,
    tile_count: u32,
    avg_offset: u32,
    profile_offset: u32,
    out_offset: u32,
    pad0: u32,
    pad1: u32,
}

// One tile size's ring layout: offsets into `tables` (see crates/gpu/src/analyzer.rs).
struct Layout {
    n: u32,
    bins: u32,
    ring: u32,
    ring_start: u32,
    counts: u32,
    median: u32,
    median_start: u32,
    high: u32,
    high_count: u32,
    peak: u32,
    peak_count: u32,
    pad: u32,
}
