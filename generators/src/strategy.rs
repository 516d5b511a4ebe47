//! proptest support: programs drawn from a shrinkable stream of choices.
//!
//! The strategy generates a list of numbers and builds the program from it with the same
//! generator as [`crate::generate()`]. proptest shrinks the list (shorter, smaller numbers), and
//! because every stream yields a valid program and smaller streams yield simpler programs,
//! shrinking never leaves the space of valid programs and needs no filtering.

use proptest::collection::vec;
use proptest::prelude::*;

use crate::choice::StreamChoices;
use crate::generate::generate_from;
use crate::model::Program;
use crate::policy::Policy;

/// The choice streams behind [`programs`]: a header window plus one window per recipe group
/// (see [`crate::choice::Choices::region`]).
pub fn choice_streams() -> impl Strategy<Value = Vec<u32>> {
    vec(
        any::<u32>(),
        0..crate::choice::HEADER_LEN + 8 * crate::choice::REGION_LEN,
    )
}

/// Programs under `policy`. An invalid policy yields the empty program of one unit.
pub fn programs(policy: Policy) -> impl Strategy<Value = Program> {
    choice_streams().prop_map(move |data| program_from_stream(data, &policy))
}

/// The program a choice stream produces under `policy`.
pub fn program_from_stream(data: Vec<u32>, policy: &Policy) -> Program {
    let mut ch = StreamChoices::new(data);
    generate_from(&mut ch, policy).unwrap_or_else(|_| Program::new(&policy.name, 1))
}
