"""E-voucher errors: each a stable code and a Chinese message for the citizen or the terminal."""

from __future__ import annotations

from backend.errors import Conflict, DomainError, Forbidden, NotFound


class VoucherNotFound(NotFound):
    code = "VOUCHER_NOT_FOUND"
    message = "未找到该医保电子凭证"


class VoucherAlreadyActive(Conflict):
    code = "VOUCHER_ALREADY_ACTIVE"
    message = "该人员的医保电子凭证已激活，无需重复激活"


class VoucherNotActive(Conflict):
    code = "VOUCHER_NOT_ACTIVE"
    message = "该医保电子凭证已停用，请先重新激活"


class FamilyVoucherLimit(Conflict):
    code = "FAMILY_VOUCHER_LIMIT"
    message = "亲情账户凭证数量已达上限"


class FamilyAuthorisationLapsed(Forbidden):
    code = "FAMILY_AUTHORISATION_LAPSED"
    message = "您已不能代该家庭成员出示医保电子凭证，请重新添加家庭成员并取得授权"


# --- refusals of a presented code (terminal side) ------------------------------------------


class CodeRefused(DomainError):
    """A code that cannot be accepted: the terminal asks the citizen to refresh it."""

    status = 422
    code = "VOUCHER_CODE_INVALID"
    message = "医保电子凭证码无效，请刷新后重新出示"


class CodeTooLong(CodeRefused):
    code = "VOUCHER_CODE_TOO_LONG"
    message = "医保电子凭证码过长，不是有效的凭证码"


class CodeMalformed(CodeRefused):
    code = "VOUCHER_CODE_MALFORMED"
    message = "无法识别的医保电子凭证码，请重新扫码"


class CodeAlgorithmRejected(CodeRefused):
    code = "VOUCHER_CODE_ALGORITHM_REJECTED"
    message = "医保电子凭证码的签名算法不被接受"


class CodeKeyUnknown(CodeRefused):
    code = "VOUCHER_KEY_UNKNOWN"
    message = "医保电子凭证码的签名密钥未知或已停用"


class CodeKeyRetired(CodeRefused):
    code = "VOUCHER_KEY_RETIRED"
    message = "医保电子凭证码的签名密钥在签发时已停用"


class CodeSignatureInvalid(CodeRefused):
    code = "VOUCHER_SIGNATURE_INVALID"
    message = "医保电子凭证码签名无效，可能已被篡改"


class CodeExpired(CodeRefused):
    code = "VOUCHER_CODE_EXPIRED"
    message = "医保电子凭证码已过期，请刷新后重新出示"


class CodeNotYetValid(CodeRefused):
    code = "VOUCHER_CODE_NOT_YET_VALID"
    message = "医保电子凭证码的签发时间晚于当前时间，请检查终端时间"


class CodeUsed(Conflict):
    code = "VOUCHER_CODE_USED"
    message = "该医保电子凭证码已使用过，请刷新后重新出示"


class VoucherRevoked(DomainError):
    status = 403
    code = "VOUCHER_REVOKED"
    message = "该医保电子凭证已挂失停用"


class PurposeUnknown(DomainError):
    status = 422
    code = "VOUCHER_PURPOSE_UNKNOWN"
    message = "用码业务类型不在允许的范围内"


class ReportTooLate(CodeRefused):
    code = "VOUCHER_REPORT_TOO_LATE"
    message = "离线使用记录上报超过时限"


class UseTimeInvalid(CodeRefused):
    code = "VOUCHER_USE_TIME_INVALID"
    message = "离线使用时间不在凭证码有效期内或晚于当前时间"


class UseNotRecorded(DomainError):
    """The batch this verification was written with failed: nothing of it was recorded, and the
    code may be scanned again."""

    status = 503
    code = "VOUCHER_USE_NOT_RECORDED"
    message = "本次核验未能记录，请重新扫码核验"
