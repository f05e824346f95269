"""Errors of the case service, with stable codes and Chinese messages."""

from __future__ import annotations

from backend.errors import Conflict, Forbidden, InvalidInput, NotFound


class CaseNotFound(NotFound):
    code = "CASE_NOT_FOUND"
    message = "未找到该办件"


class TaskNotFound(NotFound):
    code = "TASK_NOT_FOUND"
    message = "未找到该审核任务"


class StaleCase(Conflict):
    code = "CASE_CHANGED"
    message = "办件已被他人处理或已更新，请刷新后重试"


class TaskTaken(Conflict):
    code = "TASK_ALREADY_CLAIMED"
    message = "该任务已被其他审核人员领取"


class ItemNotDelegated(Forbidden):
    code = "ITEM_NOT_DELEGATED"
    message = "本服务站未承接该事项"


class UnknownService(InvalidInput):
    code = "SERVICE_UNKNOWN"
    message = "未知的办理事项"


class UnknownReason(InvalidInput):
    code = "REASON_UNKNOWN"
    message = "理由代码无效"
