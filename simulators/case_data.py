"""Deterministic data of the simulated case platform (群众诉求受理办理平台): no HTTP here.

``case_versions(district, business_date)`` is the platform's change feed for one local
(Asia/Shanghai) calendar day: every version of every case whose ``updated_at`` falls on that
day, as API JSON dicts with exactly the keys of ``minhu.schemas.CASE_FIELDS``, sorted by
(``updated_at``, ``case_id``).

How it works
------------
* The cases *received* on one date are generated once, with their whole lifecycle, from
  ``random.Random(f"{district}|{received_date.isoformat()}")`` (string seeds are hashed with
  SHA-512 by ``random``, so the output is identical across processes and machines; ``hash()`` is
  never used). The result is cached (``functools.lru_cache``).
* A lifecycle is a list of versions, each with its own ``updated_at``: received (已受理) →
  dispatched (已派单, with ``due_at`` = ``minhu.calendar.add_working_days(dispatched_at, limit)``,
  limit = ``TIME_LIMIT_WORKING_DAYS[case_type]``, or ``BUSINESS_ENV_TIME_LIMIT`` for
  business-environment cases) → maybe 办理中 → urged (催办, ``urge_count`` + 1, one version per
  urge) while overdue → closed (已办结) → visited (已回访) 1–3 days later. About 1.5 % of
  the cases are rejected (不予受理) instead of being dispatched.
* **Truncation**: versions later than ``HORIZON_DAYS`` (60) days after the received date are
  not generated. A case still open then stays open in the feed for ever (a "long open"
  case). Consequently the feed of day D only depends on the cases received D-60 .. D.
* Volume: ``District.annual_cases`` per year on average (硚口区 170,000), spread over the
  days with a weekday / weekend / public-holiday / Spring-Festival pattern and a monthly
  seasonality, plus Poisson-like noise. The category mix also moves with the season (water,
  power, noise and drainage in summer; unpaid wages and gas before the Spring Festival).
* Internally times are naive Asia/Shanghai wall-clock times (China has no daylight saving
  time since 1991); they are emitted as ISO 8601 strings with ``+08:00``.

The generator only knows what happens, not what is known *now*: serving only versions with
``updated_at`` up to the simulated present is the HTTP server's job.

Streets are the real street offices (街道办事处) of each district; community (社区) names, roads and
grid numbers are plausible, not an authoritative register.
"""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from minhu.calendar import add_working_days, day_info
from minhu.schemas import (
    BUSINESS_ENV_TIME_LIMIT,
    CASE_FIELDS,
    CASE_STATUSES,
    CASE_TYPES,
    CHANNELS,
    SATISFACTIONS,
    TIME_LIMIT_WORKING_DAYS,
)

HORIZON_DAYS = 60  # versions later than received date + 60 days are not generated
OFFSET = "+08:00"

# --------------------------------------------------------------------------------------------
# Geography
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Street:
    name: str  # 街道 name, e.g. 汉正街道
    code: str  # used in grid ids
    population: int  # thousands of residents, the weight of the street in the case volume
    communities: tuple[str, ...]
    roads: tuple[str, ...]

    @property
    def office(self) -> str:
        return f"{self.name}办事处"


@dataclass(frozen=True)
class District:
    name: str
    prefix: str  # case_id prefix
    annual_cases: int
    streets: tuple[Street, ...]

    @property
    def handling_units(self) -> tuple[str, ...]:
        """Every unit a case of this district can be dispatched to."""
        depts = tuple(f"{self.name}{suffix}" for suffix in DEPARTMENTS.values())
        return depts + tuple(s.office for s in self.streets) + tuple(UTILITIES.values())

    def unit(self, key: str, street: Street) -> str:
        if key == "STREET":
            return street.office
        if key in UTILITIES:
            return UTILITIES[key]
        return f"{self.name}{DEPARTMENTS[key]}"


def _st(name: str, code: str, pop: int, communities: str, roads: str) -> Street:
    return Street(name, code, pop, tuple(communities.split()), tuple(roads.split()))


# fmt: off
_QIAOKOU = (
    _st("古田街道", "GT", 110, "古田一路社区 古田二路社区 古田三路社区 紫润明园社区 新合村社区 罗家墩社区",
        "古田一路 古田二路 古田四路 解放大道 汉西一路"),
    _st("韩家墩街道", "HJD", 95, "韩家墩社区 额头湾社区 简易社区 永红社区 东方社区",
        "解放大道 建设大道 简易路 韩家墩路"),
    _st("宗关街道", "ZG", 80, "宗关社区 水厂社区 汉江社区 发展社区 七一社区", "宗关路 解放大道 汉江路 京汉大道"),
    _st("汉水桥街道", "HSQ", 55, "汉水桥社区 京汉社区 营北社区 太平洋社区", "京汉大道 解放大道 汉水一路"),
    _st("宝丰街道", "BF", 60, "宝丰社区 崇仁社区 园林社区 建乐社区", "宝丰一路 宝丰二路 崇仁路 解放大道"),
    _st("荣华街道", "RH", 50, "荣华社区 利济社区 沿河社区 仁寿社区", "利济北路 沿河大道 中山大道"),
    _st("汉中街道", "HZH", 50, "汉中社区 中山社区 长堤社区 球场社区", "汉中街 中山大道 长堤街"),
    _st("汉正街道", "HZ", 65, "汉正社区 大夹街社区 万安社区 多福社区 永宁社区", "汉正街 大夹街 多福路 万安巷"),
    _st("六角亭街道", "LJT", 55, "六角亭社区 居仁社区 同兴社区 新大街社区", "中山大道 解放大道 崇仁路 硚口路"),
    _st("长丰街道", "CF", 90, "长丰社区 常码头社区 南垸坊社区 北垸坊社区 三民社区",
        "长丰大道 南泥湾大道 常码头路"),
    _st("易家街道", "YJ", 70, "易家墩社区 舵落口社区 集贤社区 张毕湖社区", "古田四路 易家街 园博大道"),
)

_JIANGHAN = (
    _st("民族街道", "MZ", 35, "民族路社区 大兴路社区 交易街社区", "民族路 中山大道 交易街"),
    _st("花楼街道", "HL", 30, "花楼街社区 泉隆巷社区 黄陂街社区", "花楼街 黄陂街 江汉二路"),
    _st("水塔街道", "ST", 35, "水塔社区 统一街社区 友谊南路社区", "中山大道 统一街 友谊南路"),
    _st("民权街道", "MQ", 30, "民权路社区 三民路社区 清芬社区", "民权路 三民路 清芬路"),
    _st("满春街道", "MC", 40, "满春社区 新安社区 仁寿社区", "满春路 新安街 中山大道"),
    _st("民意街道", "MY", 45, "民意一路社区 民意四路社区 红旗社区", "民意一路 民意四路 解放大道"),
    _st("新华街道", "XH", 55, "新华路社区 西北湖社区 贺家墩社区", "新华路 建设大道 西北湖路"),
    _st("万松街道", "WS", 70, "万松园社区 青年路社区 双洞门社区 雪松路社区", "万松园路 青年路 雪松路 新华下路"),
    _st("唐家墩街道", "TJD", 80, "唐家墩社区 杨汊湖社区 菱角湖社区 西桥社区", "唐家墩路 菱角湖路 建设大道"),
    _st("北湖街道", "BH", 40, "北湖社区 华安里社区 北湖正街社区", "北湖西路 北湖正街 建设大道"),
    _st("常青街道", "CQ", 90, "常青花园第一社区 常青花园第五社区 常青花园第八社区 宝岛公园社区",
        "常青路 常青花园路 发展大道"),
    _st("汉兴街道", "HX", 70, "汉兴社区 振兴社区 金墩社区 天门墩社区", "新湾路 姑嫂树路 金墩街"),
    _st("前进街道", "QJ", 30, "前进一路社区 前进四路社区 友谊路社区", "前进一路 前进四路 解放大道"),
)

_JIANGAN = (
    _st("大智街道", "DZ", 40, "大智路社区 友益街社区 三阳路社区", "大智路 中山大道 友益街"),
    _st("一元街道", "YY", 35, "一元路社区 胜利街社区 南京路社区", "一元路 胜利街 沿江大道"),
    _st("车站街道", "CZ", 35, "车站路社区 京汉社区 芦沟桥路社区", "车站路 京汉大道 合作路"),
    _st("四唯街道", "SW", 40, "四唯路社区 天津路社区 黄兴路社区", "四唯路 香港路 中山大道"),
    _st("永清街道", "YQ", 35, "永清社区 三阳社区 黄浦社区", "永清街 三阳路 沿江大道"),
    _st("西马街道", "XM", 30, "西马路社区 一德路社区 江大路社区", "西马路 一德路 中山大道"),
    _st("球场街道", "QC", 45, "球场路社区 黄孝河社区 天声街社区", "球场路 黄孝河路 京汉大道"),
    _st("劳动街道", "LD", 45, "劳动街社区 鄱阳街社区 惠济路社区", "惠济路 鄱阳街 解放大道"),
    _st("二七街道", "EQ", 60, "二七路社区 长春街社区 工农兵路社区", "二七路 工农兵路 长春街"),
    _st("新村街道", "XC", 40, "新村社区 工农兵社区 堤角社区", "新村街 堤角路 建设大道"),
    _st("丹水池街道", "DSC", 50, "丹水池社区 新荣社区 江北社区", "黄浦大街 兴业路 丹水池路"),
    _st("台北街道", "TB", 45, "台北路社区 香港路社区 华安社区", "台北路 香港路 台北一路"),
    _st("花桥街道", "HQ", 55, "花桥社区 兴业路社区 澳门路社区", "花桥街 兴业路 澳门路"),
    _st("谌家矶街道", "CJJ", 35, "谌家矶社区 幸福社区 建设村社区", "谌家矶大道 江北路 幸福湾路"),
    _st("后湖街道", "HH", 120, "百步亭花园社区 后湖社区 安居社区 幸福时代社区", "后湖大道 百步亭路 后湖四路"),
    _st("塔子湖街道", "TZH", 80, "塔子湖社区 育才社区 新竹社区", "塔子湖西路 塔子湖东路 新竹路"),
)
# fmt: on

DISTRICTS: dict[str, District] = {
    "硚口区": District("硚口区", "QK", 170_000, _QIAOKOU),
    "江汉区": District("江汉区", "JH", 150_000, _JIANGHAN),
    "江岸区": District("江岸区", "JA", 185_000, _JIANGAN),
}
DEFAULT_DISTRICT = "硚口区"

# Functional departments: key -> name after the district name (e.g. 硚口区城市管理执法局).
DEPARTMENTS = {
    "城管": "城市管理执法局",
    "住更": "住房和城市更新局",
    "征收": "房屋征收服务中心",
    "城建": "城乡建设局",
    "市监": "市场监督管理局",
    "环境": "生态环境分局",
    "水务": "水务和湖泊局",
    "园林": "园林和林业局",
    "民政": "民政局",
    "人社": "人力资源和社会保障局",
    "卫健": "卫生健康局",
    "医保": "医疗保障局",
    "教育": "教育局",
    "文旅": "文化和旅游局",
    "交通": "交通大队",
    "公安": "公安分局",
    "应急": "应急管理局",
    "发改": "发展和改革局",
    "科经": "科技和经济信息化局",
    "商务": "商务局",
    "税务": "税务局",
    "政数": "政务服务和大数据管理局",
    "退役": "退役军人事务局",
    "司法": "司法局",
    "残联": "残疾人联合会",
}
UTILITIES = {
    "供水": "武汉市自来水有限公司",
    "供电": "国网武汉供电公司",
    "燃气": "武汉市燃气集团有限公司",
    "公交": "武汉市公交集团有限责任公司",
    "地铁": "武汉地铁集团有限公司",
    "电信": "中国电信武汉分公司",
    "移动": "中国移动武汉分公司",
}

# --------------------------------------------------------------------------------------------
# Categories
# --------------------------------------------------------------------------------------------


class Category(NamedTuple):
    path: str  # 3 levels joined by "/"
    weight: float  # relative share of the volume (before seasonality)
    unit: str  # DEPARTMENTS / UTILITIES key, or "STREET" for the case's street office
    kind: str  # complaint | report | help | consult | suggest | praise: drives the case type mix
    season: str  # "" | summer | rain | winter | school
    issue: str  # the core of the content text


# fmt: off
CATEGORIES: tuple[Category, ...] = (
    Category("城市管理/市容环境/占道经营", 8.0, "城管", "complaint", "summer", "有流动摊贩长期占道经营，影响行人通行"),
    Category("城市管理/市容环境/乱堆乱放", 4.0, "STREET", "complaint", "", "楼道和路边杂物乱堆乱放，存在安全隐患"),
    Category("城市管理/市容环境/违规广告", 1.5, "城管", "complaint", "", "有人乱贴小广告、违规设置户外广告牌"),
    Category("城市管理/环境卫生/垃圾清运", 5.0, "STREET", "complaint", "summer", "垃圾桶满溢多日无人清运，气味很大"),
    Category("城市管理/环境卫生/道路保洁", 2.0, "城管", "complaint", "", "路面脏乱，清扫不及时"),
    Category("城市管理/违法建设/违章搭建", 3.0, "城管", "report", "", "有住户在楼顶和院内违章搭建"),
    Category("城市管理/餐饮油烟/油烟扰民", 2.5, "城管", "complaint", "summer", "临街餐馆油烟直排，严重影响楼上住户"),
    Category("城市管理/市政设施/路灯不亮", 1.5, "城管", "help", "winter", "路灯已经坏了很久，晚上出行不安全"),
    Category("城市管理/市政设施/道路破损", 2.0, "城建", "complaint", "rain", "路面坑洼破损，下雨后积水严重"),
    Category("城市管理/市政设施/井盖缺失", 1.0, "城管", "report", "", "井盖破损缺失，容易发生意外"),
    Category("城市管理/园林绿化/树木修剪", 1.5, "园林", "help", "summer", "行道树枝叶过密遮挡住户采光，请求修剪"),
    Category("住房保障/物业管理/物业服务", 8.0, "住更", "complaint", "", "小区物业不作为，公共区域长期无人管理"),
    Category("住房保障/物业管理/物业收费", 2.5, "住更", "complaint", "", "物业公司擅自上调物业费"),
    Category("住房保障/物业管理/电梯故障", 2.0, "市监", "help", "summer", "小区电梯频繁故障停运，老人上下楼困难"),
    Category("住房保障/老旧小区/改造施工", 2.0, "住更", "complaint", "", "老旧小区改造施工进度缓慢，影响居民出行"),
    Category("住房保障/房屋安全/房屋漏水", 3.0, "STREET", "help", "rain", "楼顶防水层破损，家中屋顶漏水"),
    Category("住房保障/房屋征收/征收补偿", 1.0, "征收", "consult", "", "想了解房屋征收补偿标准和安置政策"),
    Category("住房保障/公租房/申请审核", 1.0, "住更", "consult", "", "公租房申请提交很久，想了解审核进度"),
    Category("劳动社保/劳资纠纷/拖欠工资", 5.0, "人社", "complaint", "winter", "工作单位拖欠工资数月未发"),
    Category("劳动社保/社会保险/社保缴纳", 2.0, "人社", "consult", "", "单位未按规定缴纳社会保险"),
    Category("劳动社保/社会保险/退休待遇", 1.0, "人社", "consult", "", "想了解退休待遇核定和养老金调整政策"),
    Category("劳动社保/就业服务/就业创业", 1.0, "人社", "consult", "", "想了解就业创业补贴的申请条件"),
    Category("市场监管/消费维权/预付卡", 3.0, "市监", "complaint", "", "健身房、培训机构办理预付卡后商家跑路"),
    Category("市场监管/消费维权/商品质量", 2.0, "市监", "complaint", "", "在商店购买的商品存在质量问题，商家拒绝退换"),
    Category("市场监管/食品安全/餐饮卫生", 2.0, "市监", "report", "summer", "餐馆后厨卫生条件差，疑似使用过期食材"),
    Category("市场监管/价格监管/乱收费", 1.0, "市监", "complaint", "", "商户明码标价不规范，存在乱收费"),
    Category("市场监管/无证经营/无照经营", 1.0, "市监", "report", "", "有商户无证无照经营"),
    Category("环境保护/噪声污染/施工噪声", 4.0, "环境", "complaint", "summer", "工地夜间施工噪声扰民，影响休息"),
    Category("环境保护/噪声污染/社会生活噪声", 3.0, "公安", "complaint", "summer", "夜间广场舞和楼上住户噪声扰民"),
    Category("环境保护/噪声污染/商业噪声", 1.5, "城管", "complaint", "summer", "商铺用高音喇叭招揽生意，噪声很大"),
    Category("环境保护/大气污染/扬尘污染", 1.5, "环境", "complaint", "", "工地未覆盖裸土，扬尘污染严重"),
    Category("环境保护/水污染/污水排放", 1.0, "环境", "report", "summer", "有单位向雨水管网偷排污水"),
    Category("交通出行/停车管理/违章停车", 5.0, "交通", "complaint", "", "车辆长期违停占用消防通道和人行道"),
    Category("交通出行/停车管理/停车收费", 1.0, "交通", "complaint", "", "路边停车收费标准不清，存在乱收费"),
    Category("交通出行/公共交通/公交服务", 1.5, "公交", "complaint", "", "公交车到站不停、班次间隔过长"),
    Category("交通出行/公共交通/地铁服务", 0.8, "地铁", "suggest", "", "地铁站出入口设置不便，换乘距离远"),
    Category("交通出行/道路交通/信号灯故障", 0.8, "交通", "help", "", "路口信号灯故障，交通秩序混乱"),
    Category("交通出行/共享单车/乱停放", 1.5, "城管", "complaint", "summer", "共享单车大量乱停乱放，堵塞人行道"),
    Category("公用事业/供水/停水", 3.0, "供水", "help", "summer", "家中突然停水，没有收到任何通知"),
    Category("公用事业/供水/水压水质", 2.0, "供水", "complaint", "summer", "自来水水压低、水质发黄"),
    Category("公用事业/供电/停电", 3.0, "供电", "help", "summer", "小区频繁停电，家中电器无法使用"),
    Category("公用事业/燃气/燃气服务", 1.5, "燃气", "help", "winter", "燃气报装和维修迟迟无人上门"),
    Category("公用事业/通信/网络信号", 1.0, "电信", "complaint", "", "小区宽带和手机信号差"),
    Category("公用事业/通信/线缆整治", 0.6, "移动", "complaint", "", "楼道内通信线缆杂乱悬挂，存在安全隐患"),
    Category("公用事业/排水/下水道堵塞", 2.5, "水务", "help", "rain", "下水道堵塞，污水外溢"),
    Category("公用事业/排水/道路积水", 1.5, "水务", "help", "rain", "下雨后道路严重积水，车辆行人无法通行"),
    Category("社会保障/社会救助/低保申请", 1.5, "民政", "help", "winter", "家庭生活困难，想申请最低生活保障"),
    Category("社会保障/养老服务/养老机构", 1.0, "民政", "complaint", "", "养老机构服务不到位，收费不透明"),
    Category("社会保障/残疾人服务/残疾人补贴", 0.6, "残联", "consult", "", "想了解残疾人两项补贴的申领"),
    Category("卫生健康/医疗服务/医疗纠纷", 1.5, "卫健", "complaint", "", "在医院就诊时对诊疗结果和收费有异议"),
    Category("卫生健康/医疗保障/医保报销", 1.5, "医保", "consult", "", "想了解医保异地就医报销的流程"),
    Category("卫生健康/公共卫生/接种服务", 0.6, "卫健", "consult", "", "想了解社区卫生服务中心的疫苗接种安排"),
    Category("教育文体/学校管理/入学咨询", 1.5, "教育", "consult", "school", "想了解孩子小学入学划片和报名材料"),
    Category("教育文体/校外培训/培训退费", 1.2, "教育", "complaint", "", "校外培训机构拒绝退还剩余课时费"),
    Category("教育文体/文化旅游/文娱场所", 0.5, "文旅", "complaint", "", "娱乐场所经营到深夜，噪声扰民"),
    Category("公共安全/治安管理/治安秩序", 1.2, "公安", "report", "", "附近有人聚众赌博，治安秩序混乱"),
    Category("公共安全/消防安全/消防通道", 1.5, "STREET", "complaint", "", "电动车在楼道内充电，消防通道被堵"),
    Category("公共安全/安全生产/安全隐患", 1.0, "应急", "report", "", "有门店违规存放液化气罐，存在安全隐患"),
    Category("政务服务/办事咨询/政策咨询", 3.0, "政数", "consult", "", "想了解相关证件办理需要的材料和地点"),
    Category("政务服务/工作作风/服务态度", 1.0, "STREET", "complaint", "", "窗口工作人员服务态度差，办事推诿"),
    Category("政务服务/法律服务/法律援助", 0.5, "司法", "consult", "", "想申请法律援助，咨询办理条件"),
    Category("企业服务/营商环境/涉企诉求", 2.0, "发改", "help", "", "企业在经营中遇到审批难题，请求协调"),
    Category("企业服务/营商环境/政策兑现", 0.8, "科经", "consult", "", "企业申报的扶持资金迟迟未兑现"),
    Category("企业服务/商贸流通/市场秩序", 0.6, "商务", "complaint", "", "商场和农贸市场管理混乱"),
    Category("企业服务/税费服务/税务咨询", 0.6, "税务", "consult", "", "想咨询小微企业税费减免政策"),
    Category("社区治理/邻里纠纷/邻里矛盾", 2.0, "STREET", "help", "", "与邻居因漏水和噪声发生纠纷，请求调解"),
    Category("社区治理/宠物管理/犬只扰民", 1.2, "公安", "complaint", "", "有住户饲养大型犬不拴绳，犬只吠叫扰民"),
    Category("社区治理/退役军人/优抚待遇", 0.4, "退役", "consult", "", "想了解退役军人优抚待遇的申请"),
    Category("表扬感谢/工作表扬/表扬感谢", 0.8, "STREET", "praise", "", "社区工作人员热心帮助解决了困难"),
    Category("意见建议/城市建设/规划建议", 0.8, "城建", "suggest", "", "附近缺少公共停车场和休闲设施"),
)
# fmt: on

# Month (1-12) multipliers of the category weights per season tag.
_SEASON_FACTORS = {
    "": (1.0,) * 12,
    "summer": (0.7, 0.7, 0.8, 0.9, 1.1, 1.4, 1.7, 1.7, 1.2, 0.9, 0.8, 0.7),
    "rain": (0.6, 0.6, 0.8, 1.0, 1.3, 2.0, 2.2, 1.3, 0.9, 0.7, 0.6, 0.6),
    "winter": (1.7, 1.5, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.9, 1.2, 1.6),
    "school": (0.6, 0.6, 0.8, 1.0, 1.5, 2.0, 2.2, 2.0, 1.0, 0.6, 0.5, 0.5),
}

# Monthly volume seasonality (mean about 1) and the day-type factors.
_MONTH_FACTORS = (0.92, 0.85, 0.96, 0.97, 1.0, 1.07, 1.18, 1.16, 1.03, 0.95, 0.96, 0.95)
_DAY_FACTORS = {"working": 1.0, "makeup": 0.93, "weekend": 0.63, "holiday": 0.52, "spring_festival": 0.3}

CHANNEL_WEIGHTS = {
    "12345热线": 0.60,
    "12319数字城管": 0.15,
    "城市留言板": 0.10,
    "网上投诉": 0.06,
    "区委书记留言板": 0.04,
    "上级转办": 0.03,
    "媒体曝光": 0.01,
    "领导批示": 0.01,
}
# 12319 is the urban-management hotline: its cases come from these branches only.
_CHANNEL_12319_BRANCHES = ("城市管理/", "环境保护/噪声污染/商业噪声", "交通出行/共享单车/", "公用事业/排水/")

_KIND_TYPES = {
    "complaint": {"投诉": 0.74, "求助": 0.10, "举报": 0.08, "咨询": 0.04, "建议": 0.04},
    "report": {"举报": 0.62, "投诉": 0.33, "建议": 0.05},
    "help": {"求助": 0.72, "投诉": 0.14, "咨询": 0.09, "建议": 0.05},
    "consult": {"咨询": 0.78, "求助": 0.14, "投诉": 0.04, "建议": 0.04},
    "suggest": {"建议": 0.85, "咨询": 0.15},
    "praise": {"表扬": 1.0},
}

_BUSINESS_ENV_P = {"企业服务": 0.85, "市场监管": 0.12, "劳动社保": 0.06, "公用事业": 0.04, "政务服务": 0.05}
_BUSINESS_ENV_OTHER_P = 0.012
_KEY_SUPERVISION_P = {"领导批示": 0.6, "区委书记留言板": 0.15, "媒体曝光": 0.35, "上级转办": 0.08}
_KEY_SUPERVISION_OTHER_P = 0.004

REJECT_P = 0.015  # 不予受理
LATE_DISPATCH_P = 0.02  # dispatched more than 24 h after receipt
NEVER_CLOSED_P = 0.004  # still open at the horizon
VISIT_P = 0.97
NOT_REACHED_P = 0.05  # 未接通
_SATISFACTION_ONTIME = (("满意", 0.895), ("基本满意", 0.07), ("不满意", 0.035))
_SATISFACTION_LATE = (("满意", 0.72), ("基本满意", 0.12), ("不满意", 0.16))

_HOUR_WEIGHTS = (0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.5, 1.2, 3.0, 5.5, 6.0, 5.0,
                 3.0, 3.5, 5.0, 5.2, 4.8, 3.8, 2.8, 2.5, 2.3, 1.8, 1.0, 0.6)  # fmt: skip

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余杜熊"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌俊峰琴玉兰春梅海波慧佳欣雨婷浩宇晨子涵"
_N_SURNAMES, _N_GIVEN = len(_SURNAMES), len(_GIVEN)
_PHONE_PREFIXES = tuple(
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 "
    "172 173 175 176 177 178 180 181 182 183 184 185 186 187 188 189 191 198 199".split()
)
_OPENINGS = {
    "12345热线": "市民来电反映：",
    "12319数字城管": "市民通过12319反映：",
    "城市留言板": "网友留言：",
    "网上投诉": "网上投诉：",
    "区委书记留言板": "网友在区委书记留言板反映：",
    "上级转办": "上级转办，群众反映：",
    "媒体曝光": "媒体曝光：",
    "领导批示": "领导批示件，群众反映：",
}
_REQUESTS = {
    "投诉": ("，希望相关部门尽快处理。", "，要求尽快解决。", "，多次反映未果，请求督促处理。"),
    "举报": ("，请相关部门依法查处。", "，请求核实查处。"),
    "求助": ("，请求帮助解决。", "，希望尽快安排人员处理。"),
    "咨询": ("，请相关部门予以答复。", "，希望得到解答。"),
    "建议": ("，建议相关部门研究改进。", "，建议加强管理。"),
    "表扬": ("，特此表扬。", "，表示衷心感谢。"),
}

# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------

KEYS = tuple(f.key for f in CASE_FIELDS)
_STATIC_KEYS = (
    "case_id", "channel", "case_type", "category", "content", "district", "street", "community",
    "grid_id", "received_at", "is_business_env", "is_key_supervision", "citizen_name",
    "citizen_phone", "address",
)  # fmt: skip
_STATE_KEYS = (
    "handling_unit", "dispatched_at", "due_at", "closed_at", "status", "urge_count",
    "visited_at", "satisfaction", "updated_at",
)  # fmt: skip
assert set(_STATIC_KEYS) | set(_STATE_KEYS) == set(KEYS) and len(_STATIC_KEYS) + len(_STATE_KEYS) == len(KEYS)
_PLAN = tuple(
    (k, 0, _STATIC_KEYS.index(k)) if k in _STATIC_KEYS else (k, 1, _STATE_KEYS.index(k)) for k in KEYS
)
_UPDATED = _STATE_KEYS.index("updated_at")
UPDATED = _UPDATED  # index of updated_at in a state tuple (simulators.server)
CASE_ID = _STATIC_KEYS.index("case_id")  # index of case_id in a static tuple


def district(name: str = DEFAULT_DISTRICT) -> District:
    try:
        return DISTRICTS[name]
    except KeyError:
        raise KeyError(f"unknown district {name!r}; known: {', '.join(DISTRICTS)}") from None


def case_versions(district_name: str, business_date: date) -> list[dict]:
    """Every version of every case with ``updated_at`` on the local day ``business_date``.

    Sorted by (updated_at, case_id); fresh dicts with exactly the CASE_FIELDS keys (API JSON form).
    """
    district(district_name)
    rows = []
    for back in range(HORIZON_DAYS + 1):
        rows.extend(
            _received_day(district_name, business_date - timedelta(days=back)).by_date.get(business_date, ())
        )
    rows.sort(key=lambda r: (r[1][_UPDATED], r[0][0]))
    return [_record(static, state) for static, state in rows]


def versions_between(district_name: str, first: date, last: date) -> list[tuple[tuple, tuple]]:
    """(static, state) of every version with ``updated_at`` on a local day in [first, last].

    Unsorted. Each received day that can hold such a version is generated (or read from the
    cache) once, so a month window costs its days plus the horizon, not the horizon per day."""
    district(district_name)
    rows: list[tuple[tuple, tuple]] = []
    span = (last - first).days
    for back in range(-HORIZON_DAYS, span + 1):
        by_date = _received_day(district_name, first + timedelta(days=back)).by_date
        for vdate, bucket in by_date.items():
            if first <= vdate <= last:
                rows.extend(bucket)
    return rows


def record(static: tuple, state: tuple) -> dict:
    """One version in API JSON form (a fresh dict with exactly the CASE_FIELDS keys)."""
    return _record(static, state)


def cases_received(district_name: str, received_date: date) -> list[dict]:
    """The cases received on ``received_date``, each in its final generated state (within the horizon)."""
    district(district_name)
    return [_record(c.static, c.versions[-1]) for c in _received_day(district_name, received_date).cases]


def case_lifecycles(district_name: str, received_date: date) -> list[list[dict]]:
    """All versions of each case received on ``received_date`` (in version order): for tests."""
    district(district_name)
    return [
        [_record(c.static, v) for v in c.versions] for c in _received_day(district_name, received_date).cases
    ]


def daily_case_count(district_name: str, received_date: date) -> int:
    """How many cases are received on that date (cheap: does not generate the cases)."""
    dist = district(district_name)
    return _draw_count(random.Random(_seed(dist, received_date)), dist, received_date)


def expected_daily_count(district_name: str, d: date) -> float:
    """The mean of the daily volume on that date (before noise)."""
    dist = district(district_name)
    return dist.annual_cases * _day_factor(d) / _year_factor_sum(d.year)


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


class _Case(NamedTuple):
    static: tuple
    versions: list  # state tuples in _STATE_KEYS order


class _Day(NamedTuple):
    cases: list[_Case]
    by_date: dict[date, list[tuple[tuple, tuple]]]  # version date -> (static, state)


def _seed(dist: District, d: date) -> str:
    return f"{dist.name}|{d.isoformat()}"


def _record(static: tuple, state: tuple) -> dict:
    return {k: (state if src else static)[i] for k, src, i in _PLAN}


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat() + OFFSET


def _day_type(d: date) -> str:
    info = day_info(d)
    if info.is_working_day:
        return "makeup" if info.is_makeup_workday else "working"
    if info.is_holiday:
        return "spring_festival" if info.holiday_name == "春节" else "holiday"
    return "weekend"


def _day_factor(d: date) -> float:
    return _DAY_FACTORS[_day_type(d)] * _MONTH_FACTORS[d.month - 1]


@lru_cache(maxsize=64)
def _year_factor_sum(year: int) -> float:
    d, total = date(year, 1, 1), 0.0
    while d.year == year:
        total += _day_factor(d)
        d += timedelta(days=1)
    return total


def _draw_count(rng: random.Random, dist: District, d: date) -> int:
    mu = dist.annual_cases * _day_factor(d) / _year_factor_sum(d.year)
    return max(0, round(rng.gauss(mu, 1.3 * mu**0.5)))


def _cum(weights) -> tuple[float, ...]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return tuple(out)


def _pick(rng: random.Random, items: tuple, cum: tuple[float, ...]):
    return items[bisect(cum, rng.random() * cum[-1])]


_CHANNELS = tuple(CHANNEL_WEIGHTS)
_CHANNEL_CUM = _cum(CHANNEL_WEIGHTS.values())
_HOUR_CUM = _cum(_HOUR_WEIGHTS)
_KIND_TABLES = {k: (tuple(v), _cum(v.values())) for k, v in _KIND_TYPES.items()}
_SAT_TABLES = {
    late: (tuple(s for s, _ in tbl), _cum(p for _, p in tbl))
    for late, tbl in ((False, _SATISFACTION_ONTIME), (True, _SATISFACTION_LATE))
}
_CATS_12319 = tuple(c for c in CATEGORIES if c.path.startswith(_CHANNEL_12319_BRANCHES))


@lru_cache(maxsize=32)
def _category_table(month: int, urban_only: bool) -> tuple[tuple[Category, ...], tuple[float, ...]]:
    cats = _CATS_12319 if urban_only else CATEGORIES
    return cats, _cum(c.weight * _SEASON_FACTORS[c.season][month - 1] for c in cats)


@lru_cache(maxsize=8)
def _street_table(district_name: str) -> tuple[tuple[Street, ...], tuple[float, ...]]:
    streets = DISTRICTS[district_name].streets
    return streets, _cum(s.population for s in streets)


@lru_cache(maxsize=2048)
def _grids(district_name: str, street_code: str, community: str) -> int:
    """Number of grids of a community: stable, 6-14."""
    return random.Random(f"grids|{district_name}|{street_code}|{community}").randint(6, 14)


@lru_cache(maxsize=1024)
def _late_p(unit: str) -> float:
    """Share of a handling unit's cases closed after their due time: stable per unit, 1-9 %."""
    return random.Random(f"late|{unit}").uniform(0.01, 0.09)


@lru_cache(maxsize=4096)
def _due(dispatch_day: date, limit: int) -> datetime:
    """The due time only depends on the dispatch date (see minhu.calendar.add_working_days)."""
    return add_working_days(datetime(dispatch_day.year, dispatch_day.month, dispatch_day.day), limit).replace(
        tzinfo=None
    )


def _office_time(rng: random.Random, day: datetime, start_h: float = 8.5, span_h: float = 9.5) -> datetime:
    """A time during office hours on the date of ``day``."""
    base = day.replace(hour=0, minute=0, second=0, microsecond=0)
    return base + timedelta(seconds=int(start_h * 3600 + rng.random() * span_h * 3600))


def _name(rng: random.Random) -> str:
    rand = rng.random
    given = _GIVEN[int(rand() * _N_GIVEN)] + (_GIVEN[int(rand() * _N_GIVEN)] if rand() < 0.7 else "")
    return _SURNAMES[int(rand() * _N_SURNAMES)] + given


def _phone(rng: random.Random) -> str:
    return (
        _PHONE_PREFIXES[int(rng.random() * len(_PHONE_PREFIXES))] + f"{int(rng.random() * 100_000_000):08d}"
    )


@lru_cache(maxsize=256)  # ~1 MB a day: four month windows at once and their horizon
def _received_day(district_name: str, d: date) -> _Day:
    dist = DISTRICTS[district_name]
    rng = random.Random(_seed(dist, d))
    n = _draw_count(rng, dist, d)
    midnight = datetime(d.year, d.month, d.day)
    seconds = sorted(_pick(rng, range(24), _HOUR_CUM) * 3600 + int(rng.random() * 3600) for _ in range(n))
    horizon = midnight + timedelta(days=HORIZON_DAYS + 1)
    ymd = d.strftime("%Y%m%d")
    cases: list[_Case] = []
    by_date: dict[date, list] = {}
    for seq, sec in enumerate(seconds, 1):
        case = _make_case(
            rng, dist, f"{dist.prefix}{ymd}{seq:06d}", midnight + timedelta(seconds=sec), horizon
        )
        cases.append(case)
        for state in case.versions:
            vdate = date.fromisoformat(state[_UPDATED][:10])
            bucket = by_date.get(vdate)
            if bucket is None:
                bucket = by_date[vdate] = []
            bucket.append((case.static, state))
    return _Day(cases, by_date)


def _make_case(
    rng: random.Random, dist: District, case_id: str, received: datetime, horizon: datetime
) -> _Case:
    rand = rng.random
    channel = _pick(rng, _CHANNELS, _CHANNEL_CUM)
    cats, cum = _category_table(received.month, channel == "12319数字城管")
    cat = _pick(rng, cats, cum)
    types, tcum = _KIND_TABLES[cat.kind]
    case_type = _pick(rng, types, tcum)
    streets, scum = _street_table(dist.name)
    street = _pick(rng, streets, scum)
    ci = int(rand() * len(street.communities))
    community = street.communities[ci]
    grid = 1 + int(rand() * _grids(dist.name, street.code, community))
    grid_id = f"{dist.prefix}-{street.code}-{ci + 1:02d}-{grid:03d}"
    road = street.roads[int(rand() * len(street.roads))]
    address = f"{road}{1 + int(rand() * 399)}号"
    if rand() < 0.35:
        address += f"{1 + int(rand() * 30)}栋"
    name, phone = _name(rng), _phone(rng)
    top = cat.path.split("/", 1)[0]
    is_biz = rand() < _BUSINESS_ENV_P.get(top, _BUSINESS_ENV_OTHER_P)
    is_key = rand() < _KEY_SUPERVISION_P.get(channel, _KEY_SUPERVISION_OTHER_P)
    content = _content(rng, channel, case_type, cat, community, address, name, phone)

    received_s = _iso(received)
    static = (case_id, channel, case_type, cat.path, content, dist.name, street.name, community,
              grid_id, received_s, is_biz, is_key, name, phone, address)  # fmt: skip

    # ---- lifecycle: a list of state tuples in _STATE_KEYS order, times strictly increasing
    versions: list[tuple] = [(None, None, None, None, "已受理", 0, None, None, received_s)]
    minute = timedelta(minutes=1)
    if rand() < REJECT_P:
        t = received + max(minute, timedelta(seconds=int(rng.expovariate(1 / 3600))))
        versions.append((None, None, None, None, "不予受理", 0, None, None, _iso(t)))
        return _Case(static, versions)

    # dispatch
    if rand() < LATE_DISPATCH_P:  # during office hours one to three days later, always > 24 h
        dispatched = _office_time(rng, received + timedelta(days=1 + int(rand() * 2)))
        if dispatched - received <= timedelta(hours=24):
            dispatched += timedelta(days=1)
    elif 8 <= received.hour < 21:
        dispatched = received + timedelta(seconds=int(min(rng.expovariate(1 / 5400), 20 * 3600)))
    else:  # received at night: dispatched the next morning
        morning = received if received.hour < 8 else received + timedelta(days=1)
        dispatched = morning.replace(hour=8, minute=0, second=0) + timedelta(
            seconds=int(rng.expovariate(1 / 3600))
        )
    dispatched = max(dispatched, received + minute)
    unit = dist.unit(cat.unit, street)
    limit = BUSINESS_ENV_TIME_LIMIT if is_biz else TIME_LIMIT_WORKING_DAYS[case_type]
    due = _due(dispatched.date(), limit)
    dispatched_s, due_s = _iso(dispatched), _iso(due)

    # closing: on time, late, or not within the horizon
    late_p = _late_p(unit) * (0.5 if (is_biz or is_key) else 1.0)
    r = rand()
    closed: datetime | None
    if r < NEVER_CLOSED_P:
        closed = None
    elif r < NEVER_CLOSED_P + late_p:
        closed = due + timedelta(seconds=int(rng.expovariate(1 / (4 * 86400)))) + minute
        if not 8 <= closed.hour < 21:
            closed = _office_time(rng, closed + timedelta(days=1) if closed.hour >= 21 else closed)
    else:
        # share of the time limit used: Kumaraswamy(1.2, 3) (beta-like, mean ~0.3, cheap to draw)
        closed = dispatched + (due - dispatched) * (1 - (1 - rand()) ** (1 / 3.0)) ** (1 / 1.2)
        closed = closed.replace(microsecond=0)
        if closed.hour < 8:
            closed = closed.replace(hour=8 + int(rand() * 2), minute=int(rand() * 60))
        elif closed.hour >= 21:
            closed = closed.replace(hour=17 + int(rand() * 4), minute=int(rand() * 60))
        closed = min(max(closed, dispatched + 10 * minute), due)
    if closed is not None and closed >= horizon:
        closed = None
    end = closed if closed is not None else horizon  # nothing else happens after this

    versions.append((unit, dispatched_s, due_s, None, "已派单", 0, None, None, dispatched_s))
    last = dispatched
    status = "已派单"
    if rand() < 0.7:
        t = dispatched + max(minute, timedelta(seconds=int(rng.expovariate(1 / (4 * 3600)))))
        if t < end - minute:
            status = "办理中"
            versions.append((unit, dispatched_s, due_s, None, status, 0, None, None, _iso(t)))
            last = t

    # urges: a key-supervision case may be urged before its due time; every overdue case mostly is
    urges: list[datetime] = []
    if is_key and rand() < 0.3:
        t = dispatched + (due - dispatched) / 2
        if last + minute < t < end - minute:
            urges.append(_office_time(rng, t, 9, 2))
    if (closed is None or closed > due) and rand() < 0.9:
        t = _office_time(rng, due + timedelta(days=1), 8.5, 3)
        while t < end - minute and len(urges) < 5:
            urges.append(t)
            t = _office_time(rng, t + timedelta(days=2 + int(rand() * 4)), 8.5, 8)
    for t in urges:
        if last + minute <= t < end - minute:
            versions.append(
                (unit, dispatched_s, due_s, None, status, versions[-1][5] + 1, None, None, _iso(t))
            )
            last = t
    urge_count = versions[-1][5]

    if closed is None:
        return _Case(static, versions)
    closed = max(closed, last + minute)
    closed_s = _iso(closed)
    versions.append((unit, dispatched_s, due_s, closed_s, "已办结", urge_count, None, None, closed_s))

    if rand() < VISIT_P:
        visited = _office_time(rng, closed + timedelta(days=1 + int(rand() * 3)), 9, 11)
        if visited < horizon:
            if case_type == "表扬":
                sat = "满意"
            elif rand() < NOT_REACHED_P:
                sat = "未接通"
            else:
                sats, scum2 = _SAT_TABLES[closed > due]
                sat = _pick(rng, sats, scum2)
            visited_s = _iso(visited)
            versions.append(
                (unit, dispatched_s, due_s, closed_s, "已回访", urge_count, visited_s, sat, visited_s)
            )
    return _Case(static, versions)


def _content(rng, channel, case_type, cat, community, address, name, phone) -> str:
    where = f"{community}{address}附近" if rng.random() < 0.5 else f"{address}"
    requests = _REQUESTS[case_type]
    request = requests[int(rng.random() * len(requests))]
    r = rng.random()
    if r < 0.18:
        return f"市民{name}（联系电话：{phone}）反映：{where}{cat.issue}{request}"
    if r < 0.26:
        return f"本人{name}，{where}{cat.issue}{request}联系电话{phone}。"
    if r < 0.31:
        return f"{_OPENINGS[channel]}{where}{cat.issue}{request}请回电{phone}。"
    return f"{_OPENINGS[channel]}{where}{cat.issue}{request}"


# Sanity of the static tables (cheap, at import).
assert set(CHANNEL_WEIGHTS) <= set(CHANNELS)
assert all(t in CASE_TYPES for tbl in _KIND_TYPES.values() for t in tbl)
assert all(s in SATISFACTIONS for s, _ in _SATISFACTION_ONTIME + _SATISFACTION_LATE)
assert {"已受理", "已派单", "办理中", "已办结", "已回访", "不予受理"} == set(CASE_STATUSES)
assert all(c.path.count("/") == 2 for c in CATEGORIES)
assert all(c.unit == "STREET" or c.unit in DEPARTMENTS or c.unit in UTILITIES for c in CATEGORIES)
