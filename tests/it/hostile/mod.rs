//! Hostile clients: each module attacks one area and checks that the server answers clearly,
//! stays within its limits, and that no other session is harmed.

mod accounts;
