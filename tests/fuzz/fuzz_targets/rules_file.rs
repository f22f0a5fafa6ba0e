//! The alert rules file: any text gives rules or an error naming the rule and field,
//! never a panic; parsed rules saved as a file parse back the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use store::alert_rules::Rules;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rules) = Rules::parse(text) {
        let again = Rules::parse(&rules.to_toml()).expect("saved rules parse");
        assert_eq!(rules, again, "rules survive a save");
    }
});
