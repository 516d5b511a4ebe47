//! `arbitrary::Arbitrary` for [`Program`] (cargo-fuzz): the fuzzer's bytes become the choice
//! stream of the `mixed` policy, through the same generator as everything else.

use arbitrary::{Arbitrary, Unstructured};

use crate::choice::StreamChoices;
use crate::generate::generate_from;
use crate::model::Program;
use crate::policy::Policy;

/// Most choices one program reads.
const MAX_CHOICES: usize = 4096;

impl<'a> Arbitrary<'a> for Program {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Program> {
        let policy_index = u
            .choose_index(crate::policy::POLICY_NAMES.len())
            .unwrap_or(0);
        let policy = Policy::by_name(crate::policy::POLICY_NAMES[policy_index]).unwrap_or_default();
        let mut data = Vec::new();
        while data.len() < MAX_CHOICES && !u.is_empty() {
            data.push(u32::arbitrary(u)?);
        }
        let mut ch = StreamChoices::new(data);
        generate_from(&mut ch, &policy).map_err(|_| arbitrary::Error::IncorrectFormat)
    }
}
