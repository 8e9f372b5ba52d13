//! Host bindings generated from `wit/` (the one source for host and guest).

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit",
});
