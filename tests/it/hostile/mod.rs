//! Hostile clients: floods and abuse that must be refused or bounded without harming anyone else.

mod chat;
