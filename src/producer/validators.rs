//! What a Java producer refuses before sending, as `org.apache.rocketmq.client.Validators`
//! (`checkTopic`, `checkGroup`, `checkMessage`) and `TopicValidator` do: a blank name, a
//! name past its length, characters outside `^[%|a-zA-Z0-9_-]+$`, an empty body.

/// `TopicValidator.TOPIC_MAX_LENGTH` (`Validators.TOPIC_MAX_LENGTH` in 4.x).
pub const TOPIC_MAX_LENGTH: usize = 127;
/// `Validators.CHARACTER_MAX_LENGTH`: the longest group name.
pub const CHARACTER_MAX_LENGTH: usize = 255;

/// `Validators.VALID_PATTERN_STR`: `^[%|a-zA-Z0-9_-]+$`.
fn legal(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-'))
}

/// `Validators.checkTopic`: the topic's name, or why Java would refuse it.
pub fn check_topic(topic: &str) -> Result<String, String> {
    if topic.trim().is_empty() {
        return Err("the topic is blank: give a topic name".into());
    }
    if !legal(topic) {
        return Err(format!(
            "{topic:?}: a topic name is made of letters, digits, %, |, _ and - (Validators.checkTopic)"
        ));
    }
    if topic.len() > TOPIC_MAX_LENGTH {
        return Err(format!(
            "a topic name is at most {TOPIC_MAX_LENGTH} characters, this one has {}",
            topic.len()
        ));
    }
    Ok(topic.to_string())
}

/// `Validators.checkGroup`: the group's name, or why Java would refuse it.
pub fn check_group(group: &str) -> Result<String, String> {
    if group.trim().is_empty() {
        return Err("the group is blank: give a group name".into());
    }
    if !legal(group) {
        return Err(format!(
            "{group:?}: a group name is made of letters, digits, %, |, _ and - (Validators.checkGroup)"
        ));
    }
    if group.len() > CHARACTER_MAX_LENGTH {
        return Err(format!(
            "a group name is at most {CHARACTER_MAX_LENGTH} characters, this one has {}",
            group.len()
        ));
    }
    Ok(group.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_java_refuses_are_refused() {
        assert!(check_topic("").is_err());
        assert!(check_topic("  ").is_err());
        assert!(check_topic("a b").is_err());
        assert!(check_topic("a.b").is_err());
        assert!(check_topic(&"t".repeat(128)).is_err());
        assert_eq!(
            check_topic(&"t".repeat(127)).as_deref(),
            Ok(&*"t".repeat(127))
        );
        assert_eq!(
            check_topic("%RETRY%g_1|x-y").as_deref(),
            Ok("%RETRY%g_1|x-y")
        );
        assert!(check_group("").is_err());
        assert!(check_group(&"g".repeat(256)).is_err());
        assert!(check_group(&"g".repeat(255)).is_ok());
    }
}
