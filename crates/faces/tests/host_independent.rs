//! The detector's matrix products (burn-flex, through the `gemm` crate) are blocked for fixed
//! cache sizes, not the host's, so that the same frame gives the same bits on every machine
//! (`vendor/README.md`). Upstream `gemm-common` reads the host's sizes; on a host whose caches
//! differ from these, this fails if the workspace's patch of `gemm-common` is dropped.

#[test]
fn matrix_products_are_blocked_for_fixed_cache_sizes_not_the_hosts() {
    let info = *gemm_common::cache::CACHE_INFO;
    let sizes: Vec<(usize, usize, usize)> = info
        .iter()
        .map(|c| (c.cache_bytes, c.associativity, c.cache_line_bytes))
        .collect();
    assert_eq!(
        sizes,
        vec![
            (32 * 1024, 8, 64),
            (1024 * 1024, 8, 64),
            (32 * 1024 * 1024, 16, 64)
        ]
    );
}
