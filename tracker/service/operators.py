"""Who is acting: an operator from the cycle's config, checked against the OS user."""

from __future__ import annotations

from tracker.config.schema import ClusterConfig
from tracker.errors import BadInputError, NotFoundError, PermissionDeniedError
from tracker.workflow import Actor


def resolve_actor(cfg: ClusterConfig, operator_id: str | None, os_user: str) -> Actor:
    """The operator named by --as / TRACKER_OPERATOR, or the only one bound to `os_user`.

    An operator bound in config to OS user names can be used only by those users
    (issue 2 §4), so a shared secretariat PC cannot act as the leader by accident.
    """
    known = ", ".join(op.id for op in cfg.operators) or "(chưa có)"
    if operator_id is None:
        bound = [op for op in cfg.operators if os_user in op.os_users]
        if len(bound) == 1:
            return Actor(bound[0].id, bound[0].role)
        raise BadInputError(
            "Chưa rõ bạn là ai: thêm --as <mã người dùng> hoặc đặt biến môi trường"
            f" TRACKER_OPERATOR. Các mã có trong cấu hình: {known}.",
            "Who are you? Add --as <operator id> or set TRACKER_OPERATOR."
            f" Operators in the config: {known}.",
        )
    for op in cfg.operators:
        if op.id == operator_id:
            if op.os_users and os_user not in op.os_users:
                raise PermissionDeniedError(
                    f"Người dùng '{op.id}' chỉ được dùng từ tài khoản máy:"
                    f" {', '.join(op.os_users)} (bạn đang là '{os_user}').",
                    f"Operator '{op.id}' may only be used by the OS accounts"
                    f" {', '.join(op.os_users)} (you are '{os_user}').",
                )
            return Actor(op.id, op.role)
    raise NotFoundError(
        f"Không có người dùng '{operator_id}' trong cấu hình. Các mã hợp lệ: {known}.",
        f"No operator '{operator_id}' in the config. Valid ids: {known}.",
    )
