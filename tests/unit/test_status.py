import pytest

from handlers.status import asks_for_status


@pytest.mark.parametrize(
    "text",
    [
        "我的工单处理得怎么样了",
        "我的投诉怎么样了",
        "我投诉的事情有结果了吗",
        "工单进度",
        "我之前提交的投诉到哪一步了",
        "我上周反映的问题有人管吗",
        "我反馈的问题还没回复",
        "我们的投诉有人处理吗",
        "查一下我的工单",
        "我的工单",
    ],
)
def test_asking_how_my_case_is_going_is_a_status_question(text: str) -> None:
    assert asks_for_status(text)


@pytest.mark.parametrize(
    "text",
    [
        "怎么投诉商家",
        "我想投诉，商家处理太慢",
        "投诉一般多久处理",
        "我的问题是补贴怎么还没到账",
        "我的补贴什么时候到账",
        "工单怎么提交",
        "商家处理退款要多久",
        "我要投诉商家处理不了",
    ],
)
def test_other_messages_about_complaints_are_not_status_questions(text: str) -> None:
    assert not asks_for_status(text)


@pytest.mark.parametrize("text", ["/status", "/status@helpdesk_bot", "/STATUS", "查询工单"])
def test_the_status_command_and_words_are_status_questions(text: str) -> None:
    assert asks_for_status(text)
