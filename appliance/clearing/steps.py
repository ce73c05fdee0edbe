"""The steps of a clearing job, in order, with the progress each one stands for."""

from __future__ import annotations

import enum


class JobStep(enum.Enum):
    """Where a clearing job stands. The order of declaration is the order of execution."""

    PRECHECK = "precheck"
    COPY_TAX = "copy-tax"
    BACKUP = "backup"
    UPLOAD = "upload"
    CLEAR_REQUEST = "clear-request"
    WRITE_BACK = "write-back"
    VERIFY = "verify"
    DONE = "done"

    @property
    def progress(self) -> int:
        """Return the percent of the job done when this step *starts*."""
        return _PROGRESS[self]

    @property
    def label_zh(self) -> str:
        """Return the step in words a shop understands."""
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        """Return the step in English."""
        return _LABELS[self][1]

    def next(self) -> JobStep:
        """Return the step after this one."""
        members = list(JobStep)
        return members[min(members.index(self) + 1, len(members) - 1)]


# Weighted by how long each step takes on a real device and network, so the bar moves evenly.
_PROGRESS = {
    JobStep.PRECHECK: 0,
    JobStep.COPY_TAX: 10,
    JobStep.BACKUP: 25,
    JobStep.UPLOAD: 35,
    JobStep.CLEAR_REQUEST: 55,
    JobStep.WRITE_BACK: 75,
    JobStep.VERIFY: 90,
    JobStep.DONE: 100,
}
_LABELS = {
    JobStep.PRECHECK: ("检查设备", "Checking the device"),
    JobStep.COPY_TAX: ("抄税", "Closing last month (copy tax)"),
    JobStep.BACKUP: ("备份本期数据", "Backing up this period's data"),
    JobStep.UPLOAD: ("上报汇总", "Uploading the summary"),
    JobStep.CLEAR_REQUEST: ("申请清卡", "Requesting clearance"),
    JobStep.WRITE_BACK: ("写入清卡数据", "Writing clearance to the device"),
    JobStep.VERIFY: ("核对结果", "Checking the result"),
    JobStep.DONE: ("完成", "Done"),
}
