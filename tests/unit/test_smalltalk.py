from knowledge.lexicon import SmalltalkIntent, builtin_lexicon
from knowledge.smalltalk import smalltalk_intent

INTENTS = (
    SmalltalkIntent("greeting", frozenset({"你好", "在吗"}), "您好！"),
    SmalltalkIntent("thanks", frozenset({"谢谢"}), "不客气"),
)


def test_whole_message_small_talk_is_recognised() -> None:
    hit = smalltalk_intent("你好", INTENTS)
    assert hit is not None
    assert hit.name == "greeting"


def test_particles_and_joined_greetings_are_still_small_talk() -> None:
    hit = smalltalk_intent("你好呀 在吗", INTENTS)
    assert hit is not None
    assert hit.name == "greeting"


def test_a_question_after_a_greeting_is_not_small_talk() -> None:
    assert smalltalk_intent("你好 补贴怎么领", INTENTS) is None


def test_long_messages_are_never_small_talk() -> None:
    assert smalltalk_intent("谢谢" * 20, INTENTS) is None


def test_builtin_lexicon_has_replies_in_chinese() -> None:
    intents = builtin_lexicon().smalltalk
    assert {"greeting", "thanks", "human"} <= {i.name for i in intents}
    assert all(i.reply and i.patterns for i in intents)
