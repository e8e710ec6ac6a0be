//! Lineups over a configured router: which tries a call gets.
