//! Hostile clients: each submodule attacks one surface and checks the server holds.

mod proxy;
