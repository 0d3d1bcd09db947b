"""Word lists for the simulated school: Chinese names (with pinyin for staff userids), corps, tags.

Everything is fictitious apart from the seed document's own example. The lists are
tuples so that a seeded `random.Random` picks the same items in every process.
"""

from __future__ import annotations

# fmt: off
# (compact word lists: one item per line would make this file four times longer)

# (surname, pinyin): the common surnames, so that a class of 45 looks like a real one.
SURNAMES: tuple[tuple[str, str], ...] = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
    ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
    ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("袁", "yuan"),
    ("潘", "pan"), ("于", "yu"), ("蒋", "jiang"), ("蔡", "cai"), ("余", "yu"), ("杜", "du"),
    ("叶", "ye"), ("程", "cheng"), ("苏", "su"), ("魏", "wei"), ("吕", "lv"), ("丁", "ding"),
    ("任", "ren"), ("沈", "shen"), ("姚", "yao"), ("卢", "lu"), ("姜", "jiang"), ("崔", "cui"),
    ("钟", "zhong"), ("谭", "tan"), ("陆", "lu"), ("汪", "wang"), ("范", "fan"), ("金", "jin"),
    ("石", "shi"), ("廖", "liao"), ("贾", "jia"), ("夏", "xia"), ("韦", "wei"), ("方", "fang"),
    ("白", "bai"), ("邹", "zou"), ("孟", "meng"), ("熊", "xiong"), ("秦", "qin"), ("邱", "qiu"),
    ("江", "jiang"), ("尹", "yin"), ("薛", "xue"), ("段", "duan"), ("雷", "lei"), ("侯", "hou"),
    ("龙", "long"), ("史", "shi"), ("陶", "tao"), ("贺", "he"), ("顾", "gu"), ("毛", "mao"),
    ("欧阳", "ouyang"), ("司马", "sima"),
)

# Given names of adults (parents and teachers), with pinyin for the teachers' userids.
MALE_GIVEN: tuple[tuple[str, str], ...] = (
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("勇", "yong"), ("杰", "jie"),
    ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("刚", "gang"), ("辉", "hui"), ("鹏", "peng"),
    ("华", "hua"), ("飞", "fei"), ("斌", "bin"), ("宇", "yu"), ("浩", "hao"), ("凯", "kai"),
    ("健", "jian"), ("峰", "feng"), ("志强", "zhiqiang"), ("海涛", "haitao"), ("文博", "wenbo"),
    ("建华", "jianhua"), ("晓东", "xiaodong"), ("俊杰", "junjie"), ("国栋", "guodong"), ("振宇", "zhenyu"),
)
FEMALE_GIVEN: tuple[tuple[str, str], ...] = (
    ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("艳", "yan"),
    ("娟", "juan"), ("霞", "xia"), ("婷", "ting"), ("雪", "xue"), ("慧", "hui"), ("琳", "lin"),
    ("颖", "ying"), ("洁", "jie"), ("燕", "yan"), ("玲", "ling"), ("丹", "dan"), ("晶", "jing"),
    ("晓燕", "xiaoyan"), ("丽娟", "lijuan"), ("海燕", "haiyan"), ("雅琴", "yaqin"), ("婉清", "wanqing"),
    ("思佳", "sijia"), ("美玲", "meiling"), ("秀梅", "xiumei"),
)
# Grandparents carry names of an older generation.
OLD_MALE_GIVEN: tuple[str, ...] = ("建国", "国庆", "德明", "永福", "长林", "志刚", "振华", "福生", "宝山", "卫东")
OLD_FEMALE_GIVEN: tuple[str, ...] = ("秀兰", "桂芳", "玉兰", "淑珍", "秀英", "桂英", "凤霞", "淑芬", "翠花", "玉梅")
CHILD_GIVEN: tuple[str, ...] = (
    "子涵", "梓萱", "浩然", "一诺", "欣怡", "宇轩", "俊熙", "诗涵", "雨桐", "梓轩", "思远", "若曦",
    "子墨", "嘉怡", "明轩", "佳琪", "博文", "可馨", "皓轩", "语嫣", "天佑", "沐阳", "晨曦", "子睿",
    "艺涵", "泽宇", "心怡", "铭泽", "思彤", "奕辰", "雨萱", "锦程", "小雨", "乐乐", "一鸣", "安琪",
)

# A parent's WeChat nickname instead of a real name, as many parents have.
NICKNAMES: tuple[str, ...] = (
    "阳光", "快乐每一天", "静待花开", "Lily", "Tony", "平安是福", "风轻云淡", "小太阳", "微笑向暖", "A-陈女士",
)

MOBILE_PREFIXES: tuple[str, ...] = (
    "130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158",
    "159", "166", "177", "180", "181", "186", "187", "188", "189", "199",
)

# (short name, full legal name, web domain) of parents' employers: all invented.
CORPS: tuple[tuple[str, str, str], ...] = (
    ("蓝海科技", "杭州蓝海科技有限公司", "lanhaitech"),
    ("华信证券", "华信证券股份有限公司", "huaxinsec"),
    ("新桥医疗", "成都新桥医疗器械有限公司", "xinqiaomed"),
    ("远航物流", "远航物流集团有限公司", "yuanhanglog"),
    ("明德律所", "北京明德律师事务所", "mingdelaw"),
    ("青禾设计", "上海青禾建筑设计有限公司", "qinghedesign"),
    ("银河软件", "南京银河软件股份有限公司", "yinhesoft"),
)
POSITIONS: tuple[str, ...] = (
    "工程师", "产品经理", "销售总监", "财务主管", "人事专员", "律师", "医生", "项目经理", "设计师",
)

# follow_user tags: (group_name, tag_name, type); type 1 set by the school, 2 by the teacher.
FOLLOW_TAGS: tuple[tuple[str, str, int], ...] = (
    ("家长身份", "家委会", 1),
    ("家长身份", "志愿者", 1),
    ("关注重点", "学习辅导", 1),
    ("关注重点", "安全接送", 1),
    ("关注重点", "心理健康", 1),
    ("沟通偏好", "电话优先", 2),
    ("沟通偏好", "微信优先", 2),
    ("特别提醒", "过敏体质", 2),
    ("特别提醒", "需重点关注", 2),
)
DESCRIPTIONS: tuple[str, ...] = (
    "", "", "家委会成员", "一般下午五点后方便联系", "孩子对花生过敏", "愿意参加学校志愿活动",
    "需要关注作业完成情况", "周末可联系", "孩子由爷爷奶奶接送",
)
# follow_user.state: the 「联系我」 channel a parent came through.
STATES: tuple[str, ...] = ("开学家长会二维码", "班级群邀请", "新生报到", "家访登记", "校门口海报")

CITIES: tuple[str, ...] = ("杭州", "成都", "南京", "武汉", "苏州", "长沙", "西安", "青岛")
SCHOOL_NAMES: tuple[str, ...] = ("实验学校", "外国语学校", "育才学校", "明德学校", "启航学校", "城南学校")

GRADE_NAMES: tuple[str, ...] = (
    "一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级", "八年级", "九年级",
)
# fmt: on
