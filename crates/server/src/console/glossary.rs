//! The console's explanations of codes, in Chinese and English: what each rule id of an assessment means
//! (treatment rules, rate rules, the VAT and consumption-tax rows of the shipped tables, waivers, channel
//! reasons), the labels of the vocabularies (flows, treatments, purposes, lists, roles, …) and the meaning
//! of the API's error codes.
//!
//! An id that is not here (a rate row added as data later, say) is still shown, with the id alone.

use std::borrow::Cow;

use super::i18n::Lang;

/// (code, Chinese, English).
type Entry = (&'static str, &'static str, &'static str);

/// Every rule id an assessment can name in `basis`, `waived` or `reasons`.
const RULES: &[Entry] = &[
    // Treatment of the first line (Macao / abroad → zone).
    ("first_line.exempt_equipment", "一线进境：免税进口主体为自用或基础设施建设进口的设备（第84、85、90章及品目9508），免征进口关税和进口环节税", "First line in: equipment (chapters 84, 85, 90, heading 9508) imported by an exempt importer for its own use or for infrastructure is exempt from import taxes"),
    ("first_line.exempt_infrastructure", "一线进境：免税进口主体进口的基础设施建设物资，用于基础设施建设的，免征进口关税和进口环节税", "First line in: infrastructure material imported by an exempt importer for infrastructure is exempt from import taxes"),
    ("first_line.goods_out_of_scope", "商品既不属于免税设备，也不属于基础设施建设物资，不予免税", "The goods are neither exempt equipment nor infrastructure material, so they are not exempt"),
    ("first_line.importer_not_exempt", "进口人不在免税进口主体名单内，不予免税", "The importer is not on the exempt-importer list, so the goods are not exempt"),
    ("first_line.purpose_not_exempt", "用途不是自用或基础设施建设，不予免税", "The purpose is neither own use nor infrastructure, so the goods are not exempt"),
    ("first_line.not_exempt_list", "商品列入不予免税商品清单，不予免税", "The goods are on the not-exempt list, so they are not exempt"),
    ("first_line.equipment_excluded", "飞机、汽车、船舶和游艇不属于免税设备", "Aircraft, cars, ships and yachts are never exempt equipment"),
    ("first_line.bonded", "一线进境未予免税的货物予以保税，税款暂缓征收，货物纳入企业保税台账", "First-line goods that are not exempt enter bonded: taxes are deferred and the goods enter the enterprise's bonded ledger"),
    ("first_line.fallback_taxed", "一线进境未予免税的货物照章征税（按本区配置）", "First-line goods that are not exempt pay import taxes (as this zone is configured)"),
    ("first_line.not_exempt_or_bonded", "商品列入不予免（保）税货物清单，一线进境照章征税", "The goods are on the zone's not-exempt-or-bonded list, so they pay import taxes at the first line"),
    ("first_line.sale_to_individual", "销售给个人的货物，一线进境照章征税", "Goods for sale to individuals pay import taxes at the first line"),
    ("first_line.importer_not_in_zone", "进口人不是区内注册企业，货物既不能免税也不能保税，照章征税", "The importer is not registered in the zone, so its goods can be neither exempt nor bonded and pay import taxes"),
    ("first_line.taxable_catalogue", "商品列入进口征税商品目录，一线进境照章征税", "The goods are on the taxable catalogue, so they pay import taxes at the first line"),
    ("first_line.zero_tariff", "享惠主体进口征税商品目录以外的货物，免征进口关税和进口环节税", "An eligible entity imports goods outside the taxable catalogue free of import taxes"),
    ("first_line.importer_not_eligible", "进口人不是享惠主体，不享受零关税", "The importer is not an eligible entity, so the zero tariff does not apply"),
    // Treatment of the second line (zone → mainland) and of the other flows.
    ("second_line.import", "二线出区进入内地，视同进口，征收进口税", "Goods leaving the zone for the mainland are imports and pay import taxes"),
    ("second_line.value_added", "区内企业加工增值达到30%及以上，免征进口关税，照章征收进口环节增值税和消费税", "Value added in the zone of 30 % or more: no duty; VAT and consumption tax are due"),
    ("second_line.value_added.below_threshold", "加工增值不足30%，照章征收进口关税", "Value added below 30 %: full duty"),
    ("second_line.value_added.not_zone_enterprise", "申报人不是区内企业，不适用加工增值免征关税规定", "The declarant is not a zone enterprise, so the value-added rule does not apply"),
    ("second_line_in.export", "从内地进入合作区的货物视同出口", "Goods entering the zone from the mainland are treated as exports"),
    ("first_line_out.export", "从合作区出境前往澳门或境外的货物为出口货物", "Goods leaving the zone for Macao or abroad are exports"),
    ("zone_transfer.free_circulation", "区内主体之间的货物自由流转", "Goods circulate freely between parties inside the zone"),
    // Whitelists (measures 4 and 5).
    ("licence_waived_whitelist", "进口人列入澳门品牌工业产品白名单（措施4），该商品免于提交进口许可证", "The importer is on the Macao-brand whitelist for these goods (measure 4): no import licence is needed"),
    ("tcm_approval_waived_whitelist", "进口人列入研发用中药材白名单（措施5），免于提交进口药材审批文件", "The importer is on the whitelist of TCM raw materials for R&D (measure 5): no herb import approval is needed"),
    ("zone_transfer.sale_to_individual", "区内免税或保税货物销售给个人，照章征收进口税", "Exempt or bonded goods sold to an individual in the zone pay import taxes"),
    // Duty rates.
    ("rate.mfn", "适用最惠国税率", "The most-favoured-nation rate applies"),
    ("rate.provisional", "适用暂定税率（暂定税率优先于最惠国税率）", "The provisional rate applies (it takes precedence over the MFN rate)"),
    ("rate.provisional.ex_line", "适用暂定税率（该暂定税率仅适用于本税号项下的部分商品）", "The provisional rate applies (it covers only part of the goods of this line)"),
    ("rate.general", "原产地适用普通税率", "The origin pays the general rate"),
    ("rate.general.origin_unknown", "原产地不明，适用普通税率", "The origin is unknown, so the general rate applies"),
    // Waivers and channel reasons.
    ("duty_under_threshold", "本票关税合计不超过起征点（横琴为50元），免征", "The declaration's duty totals at most the waiver threshold (50.00 CNY in Hengqin): not collected"),
    ("consumption_tax_under_threshold", "本票消费税合计不超过起征点（横琴为50元），免征", "The declaration's consumption tax totals at most the waiver threshold (50.00 CNY in Hengqin): not collected"),
    ("vat_under_threshold", "本票增值税合计不超过起征点（横琴为50元），免征", "The declaration's VAT totals at most the waiver threshold (50.00 CNY in Hengqin): not collected"),
    // Channel reasons of the risk engine (rules and alerts are named `rule:<id>` and `alert:<key>`).
    ("release", "未命中任何布控条件，直接放行", "Nothing selected the declaration: released"),
    ("hard_stop", "命中硬性拦截（禁止类商品或最高级别预警），优先于其他一切处置", "A hard stop (prohibited goods or an alert of the highest severity) wins over everything else"),
    ("green_channel.research", "研发名单企业的科研用货物走绿色通道，直接放行（措施1）", "Research goods of an enterprise on the R&D list take the green channel and are released (measure 1)"),
    ("credit.dishonest", "申报人或收货人为失信企业，查验率不低于80%", "The declarant or importer is a dishonest enterprise: at least 80 % of its declarations are inspected"),
    ("credit.advanced.relief", "高级认证企业：规则要求的查验改为单证审核（平均查验率低于一般企业的20%）", "Advanced certified (AEO) enterprise: an inspection a rule asks for becomes a document check (its inspection rate stays below 20 % of ordinary enterprises')"),
    ("score.top_share", "风险评分位于查验预算的最高区间，布控查验", "The risk score is in the top share the inspection budget covers: inspected"),
    ("risk.weights", "规则和预警的风险权重合计超过阈值（未加载模型）", "Rule and alert weights together pass the threshold (no model loaded)"),
    ("random.inspection", "随机抽中查验（可复现的随机布控，保证各类货物均有被查验的可能）", "Drawn at random for inspection (a reproducible draw that keeps every part of the traffic inspectable)"),
    ("random.document_check", "随机抽中单证审核", "Drawn at random for a document check"),
    // VAT rows of the shipped table (VAT Law art. 10).
    ("vat.standard", "增值税基本税率13%", "VAT at the standard rate of 13 %"),
    ("vat.reduced.animals_meat_fish", "农产品（第1至3章）适用9%增值税", "Agricultural products (chapters 01–03): VAT at 9 %"),
    ("vat.reduced.dairy", "乳及奶油适用9%增值税", "Milk and cream: VAT at 9 %"),
    ("vat.reduced.eggs_honey", "禽蛋、蜂蜜及其他食用动物产品适用9%增值税", "Eggs, honey and other edible animal products: VAT at 9 %"),
    ("vat.reduced.plants_vegetables_fruit", "农产品（第6至8章）适用9%增值税", "Agricultural products (chapters 06–08): VAT at 9 %"),
    ("vat.reduced.cereals", "谷物适用9%增值税", "Cereals: VAT at 9 %"),
    ("vat.reduced.flour", "制粉工业产品适用9%增值税", "Milling products: VAT at 9 %"),
    ("vat.reduced.oil_seeds", "含油子仁及果实适用9%增值税", "Oil seeds and oleaginous fruits: VAT at 9 %"),
    ("vat.reduced.vegetable_plaiting", "编结用植物材料适用9%增值税", "Vegetable plaiting materials: VAT at 9 %"),
    ("vat.reduced.edible_oils", "食用植物油适用9%增值税", "Edible oils: VAT at 9 %"),
    ("vat.reduced.feed", "饲料适用9%增值税", "Animal feed: VAT at 9 %"),
    ("vat.reduced.salt", "食用盐适用9%增值税", "Salt: VAT at 9 %"),
    ("vat.reduced.gas", "液化石油气、天然气适用9%增值税", "Petroleum gases (LPG and natural gas): VAT at 9 %"),
    ("vat.reduced.fertiliser", "化肥适用9%增值税", "Fertilisers: VAT at 9 %"),
    ("vat.reduced.books", "图书、报纸适用9%增值税", "Books and newspapers: VAT at 9 %"),
    // Consumption-tax rows of the shipped table (import stage).
    ("ct.spirits", "白酒等蒸馏酒：消费税20%，另加每升1.00元", "Spirits: consumption tax 20 % plus 1.00 CNY per litre"),
    ("ct.beer.below_3000", "啤酒（每吨完税价格3000元以下）：每吨220元", "Beer under 3,000 CNY per tonne: 220 CNY per tonne"),
    ("ct.beer", "啤酒：每吨250元", "Beer: 250 CNY per tonne"),
    ("ct.wine_and_other_alcohol", "葡萄酒及其他酒：消费税10%", "Wine and other alcoholic beverages: consumption tax 10 %"),
    ("ct.cigars", "雪茄烟：消费税36%", "Cigars: consumption tax 36 %"),
    ("ct.cigarettes.below_70", "卷烟（每标准条价格70元以下）：消费税36%，另加每支0.003元", "Cigarettes under 70 CNY per 200: consumption tax 36 % plus 0.003 CNY each"),
    ("ct.cigarettes", "卷烟：消费税56%，另加每支0.003元", "Cigarettes: consumption tax 56 % plus 0.003 CNY each"),
    ("ct.other_tobacco", "烟丝等其他烟草制品：消费税30%", "Other manufactured tobacco: consumption tax 30 %"),
    ("ct.cosmetics", "高档化妆品：消费税15%", "High-end cosmetics: consumption tax 15 %"),
    ("ct.motor_spirit", "汽油、石脑油、溶剂油：每升1.52元", "Motor spirit, naphtha, solvent oil: 1.52 CNY per litre"),
    ("ct.lubricants", "润滑油：每升1.52元", "Lubricating oils: 1.52 CNY per litre"),
    ("ct.fuel_oil", "燃料油：每升1.20元", "Fuel oil: 1.20 CNY per litre"),
    ("ct.diesel", "柴油：每升1.20元", "Diesel: 1.20 CNY per litre"),
    ("ct.aviation_kerosene", "航空煤油：每升1.20元，暂缓征收", "Aviation kerosene: 1.20 CNY per litre, collection suspended"),
    ("ct.cars.up_to_1000cc", "乘用车（气缸容量1000毫升及以下）：消费税1%", "Passenger cars up to 1,000 cc: consumption tax 1 %"),
    ("ct.cars.up_to_1500cc", "乘用车（1000至1500毫升）：消费税3%", "Passenger cars over 1,000 up to 1,500 cc: consumption tax 3 %"),
    ("ct.cars.up_to_2000cc", "乘用车（1500至2000毫升）：消费税5%", "Passenger cars over 1,500 up to 2,000 cc: consumption tax 5 %"),
    ("ct.cars.up_to_2500cc", "乘用车（2000至2500毫升）：消费税9%", "Passenger cars over 2,000 up to 2,500 cc: consumption tax 9 %"),
    ("ct.cars.up_to_3000cc", "乘用车（2500至3000毫升）：消费税12%", "Passenger cars over 2,500 up to 3,000 cc: consumption tax 12 %"),
    ("ct.cars.up_to_4000cc", "乘用车（3000至4000毫升）：消费税25%", "Passenger cars over 3,000 up to 4,000 cc: consumption tax 25 %"),
    ("ct.cars.over_4000cc", "乘用车（4000毫升以上）：消费税40%", "Passenger cars over 4,000 cc: consumption tax 40 %"),
    ("ct.cars.electric", "纯电动乘用车（无发动机）：不征消费税", "Electric passenger cars (no engine): no consumption tax"),
    ("ct.motorcycles.250cc", "摩托车（气缸容量250毫升）：消费税3%", "Motorcycles of 250 cc: consumption tax 3 %"),
    ("ct.motorcycles.over_250cc", "摩托车（250毫升以上）：消费税10%", "Motorcycles over 250 cc: consumption tax 10 %"),
    ("ct.motorcycles.under_250cc", "摩托车（250毫升以下）：不征消费税", "Motorcycles under 250 cc: no consumption tax"),
    ("ct.watches", "高档手表（每只10000元及以上）：消费税20%", "Watches of 10,000 CNY or more each: consumption tax 20 %"),
    ("ct.watches.under_10000", "手表（每只10000元以下）：不征消费税", "Watches under 10,000 CNY each: no consumption tax"),
    ("ct.golf", "高尔夫球及球具：消费税10%", "Golf equipment: consumption tax 10 %"),
    ("ct.yachts", "游艇：消费税10%", "Yachts: consumption tax 10 %"),
    ("ct.precious_stones", "珍珠及宝石：消费税10%", "Pearls and precious stones: consumption tax 10 %"),
    ("ct.lead_acid_batteries", "铅蓄电池：消费税4%", "Lead-acid batteries: consumption tax 4 %"),
];

const FLOWS: &[Entry] = &[
    ("first_line_in", "一线进境", "First line in"),
    ("first_line_out", "一线出境", "First line out"),
    ("second_line_out", "二线出区", "Second line out"),
    ("second_line_in", "二线进区", "Second line in"),
    ("zone_transfer", "区内流转", "Zone transfer"),
];

const TREATMENTS: &[Entry] = &[
    ("exempt", "免税", "Exempt"),
    ("bonded", "保税", "Bonded"),
    ("taxed", "征税", "Taxed"),
    ("zero_value_added_duty", "加工增值免关税", "Value added: no duty"),
    ("export", "出口", "Export"),
    ("free_circulation", "自由流转", "Free circulation"),
];

const PURPOSES: &[Entry] = &[
    ("own_use", "自用", "Own use"),
    ("resale", "转售", "Resale"),
    ("processing", "加工", "Processing"),
    ("research", "研发", "Research"),
    ("infrastructure", "基础设施建设", "Infrastructure"),
    ("exhibition", "展览", "Exhibition"),
    ("lease", "租赁", "Lease"),
    ("sale_to_individual", "销售给个人", "Sale to individuals"),
];

const CHANNELS: &[Entry] = &[
    ("release", "放行", "Release"),
    ("document_check", "单证审核", "Document check"),
    ("sample_then_release", "先放后检（抽样后放行）", "Release after sampling"),
    ("inspection", "查验", "Inspection"),
    ("hold", "扣留", "Hold"),
    ("refuse", "退运/拒绝入境", "Refuse"),
    // Declarations recorded before the risk engine.
    ("check", "查验", "Check"),
];

const CREDIT_CLASSES: &[Entry] = &[
    ("advanced", "高级认证企业", "Advanced"),
    ("ordinary", "一般信用企业", "Ordinary"),
    ("dishonest", "失信企业", "Dishonest"),
];

const VALUE_BASES: &[Entry] = &[("CIF", "CIF（到岸价）", "CIF"), ("FOB", "FOB（离岸价）", "FOB")];

const ZONES: &[Entry] = &[("hengqin", "横琴粤澳深度合作区", "Hengqin"), ("hainan", "海南自由贸易港", "Hainan")];

const LISTS: &[Entry] = &[
    ("exempt_importer", "免税进口主体名单", "Exempt importers"),
    ("rd_enterprise", "研发企业名单", "Research and development enterprises"),
    ("zero_tariff_entity", "享惠主体名单（海南）", "Zero-tariff entities (Hainan)"),
    ("cbec_platform", "跨境电商平台", "Cross-border e-commerce platforms"),
    ("cbec_enterprise", "跨境电商企业", "Cross-border e-commerce enterprises"),
    ("cbec_payment", "跨境电商支付企业", "E-commerce payment companies"),
    ("cbec_logistics", "跨境电商物流企业", "E-commerce logistics companies"),
    ("equipment_scope", "免税设备范围", "Equipment scope"),
    ("equipment_excluded", "不属免税设备的商品", "Equipment never exempt"),
    ("infrastructure_material", "基础设施建设物资", "Infrastructure materials"),
    ("not_exempt", "不予免税商品清单", "Goods not exempt"),
    ("not_exempt_or_bonded", "不予免（保）税货物清单", "Goods neither exempt nor bonded"),
    ("taxable_catalogue", "进口征税商品目录（海南）", "Taxable catalogue (Hainan)"),
    ("licence_required", "进口许可证管理货物", "Goods needing an import licence"),
    ("tcm_approval_required", "须办理进口药材审批的中药材", "TCM materials needing the herb import approval"),
];

const LIST_PURPOSES: &[Entry] = &[
    (
        "exempt_importer",
        "名单内企业为自用或基础设施建设进口设备和物资，一线免税",
        "Enterprises that may import equipment and infrastructure material exempt over the first line",
    ),
    ("rd_enterprise", "区内研发企业", "Research and development enterprises of the zone"),
    (
        "zero_tariff_entity",
        "享惠主体进口征税目录以外的货物零关税",
        "Entities that import at zero tariff except the taxable catalogue",
    ),
    ("cbec_platform", "向海关传输订单并代扣代缴税款的电商平台", "Platforms that send orders and withhold the buyers' tax"),
    ("cbec_enterprise", "网购保税进口（1210）商品的境外电商企业", "Enterprises whose bonded stock is sold to buyers (1210)"),
    ("cbec_payment", "向海关传输支付单的支付企业", "Payment companies that send payments"),
    ("cbec_logistics", "向海关传输运单的物流企业", "Logistics companies that send waybills"),
    (
        "equipment_scope",
        "一线免税时视为设备的商品（第84、85、90章及品目9508）",
        "Goods that count as equipment for first-line exemption (ch. 84, 85, 90, heading 9508)",
    ),
    (
        "equipment_excluded",
        "始终不属免税设备：飞机、汽车、船舶和游艇",
        "Equipment never exempt: aircraft, cars, ships and yachts",
    ),
    (
        "infrastructure_material",
        "用于基础设施建设（不含装修）时免税的物资",
        "Materials exempt when used for infrastructure (not interior fit-out)",
    ),
    ("not_exempt", "不予免税、一线保税进境的商品", "Goods excluded from exemption (they enter bonded)"),
    ("not_exempt_or_bonded", "一线进境照章征税的商品", "Goods taxed at the first line"),
    ("taxable_catalogue", "一线进境照章征税的商品（海南）", "Goods taxed at the first line (Hainan)"),
    ("licence_required", "一线进境须提交进口许可证，澳门品牌白名单企业免于提交", "Goods that need an import licence at the first line unless the importer is on the Macao-brand whitelist"),
    ("tcm_approval_required", "一线进境须提交进口药材审批文件，研发用中药材白名单企业免于提交", "TCM raw materials that need the herb import approval at the first line unless the importer is on the TCM whitelist"),
];

const EVENT_KINDS: &[Entry] = &[
    ("declaration.recorded", "申报单已记录", "Declaration recorded"),
    ("party.recorded", "企业信息已记录", "Enterprise recorded"),
    ("policy.rows_appended", "政策数据已追加", "Policy rows appended"),
    ("account.recorded", "账户已记录", "Account recorded"),
    ("token.issued", "令牌已签发", "Token issued"),
    ("token.revoked", "令牌已撤销", "Token revoked"),
    ("inspection.recorded", "查验结果已记录", "Inspection result recorded"),
    ("ledger.document_recorded", "保税账册单证已记录", "Bonded-ledger document recorded"),
];

const ROLES: &[Entry] = &[
    ("declarant", "申报员", "Declarant"),
    ("enterprise_admin", "企业管理员", "Enterprise administrator"),
    ("officer", "关员", "Officer"),
    ("risk_analyst", "风险分析员", "Risk analyst"),
    ("supervisor", "科长", "Supervisor"),
    ("auditor", "审计员", "Auditor"),
    ("authority", "主管部门", "Authority"),
    ("bank", "银行", "Bank"),
    ("platform", "平台", "Platform"),
];

/// The kinds of party (the part before `:` of a party id that is not a USCC).
const PARTY_KINDS: &[Entry] = &[
    ("enterprise", "企业", "Enterprise"),
    ("customs", "海关", "Customs"),
    ("authority", "主管部门", "Authority"),
    ("bank", "银行", "Bank"),
    ("platform", "平台", "Platform"),
];

/// Offices whose names the console knows, by party id.
const OFFICES: &[Entry] = &[("customs:hengqin", "横琴海关", "Hengqin Customs")];

/// The API's error codes (the `code` of `{"errors":[…]}`), said in plain words.
const ERRORS: &[Entry] = &[
    ("required", "此项必填", "This is required"),
    ("type", "格式不正确", "This has the wrong type"),
    ("decimal", "请填写数字，例如 1234.50", "Write a number such as 1234.50"),
    ("negative", "不能为负数", "This must not be negative"),
    ("zero", "必须大于零", "This must be above zero"),
    ("too_large", "数额过大", "This amount is too large"),
    ("too_long", "内容过长", "This is too long"),
    ("too_many", "条目过多", "There are too many entries"),
    ("choice", "请从列表中选择", "Choose one of the listed values"),
    ("date", "日期格式应为 年-月-日（YYYY-MM-DD）", "Write the date as YYYY-MM-DD"),
    ("integer", "请填写整数", "Write a whole number"),
    ("range", "超出允许范围", "This is out of range"),
    ("reference_format", "编号为1至64位字母、数字或 . _ -", "A reference has 1 to 64 letters, digits or . _ -"),
    ("uscc_length", "统一社会信用代码应为18位", "A unified social credit code has 18 characters"),
    (
        "uscc_character",
        "统一社会信用代码含有不允许的字符",
        "The unified social credit code has a character it never uses",
    ),
    (
        "uscc_check_character",
        "统一社会信用代码校验位不正确",
        "The check character of the unified social credit code is wrong",
    ),
    ("party_unknown", "平台上没有此企业", "The platform does not know this enterprise"),
    ("hs_format", "商品编码应为8位或10位数字", "An HS code has 8 or 10 digits"),
    (
        "hs_unknown",
        "该商品编码不在申报日有效的税则中",
        "This tariff line is not in the schedule in force on the declaration date",
    ),
    ("country_unknown", "国家（地区）代码不正确，应为两位字母代码", "Not a known two-letter country code"),
    ("currency_unknown", "币制代码不正确，应为三位字母代码", "Not a known three-letter currency code"),
    ("unit_unknown", "计量单位代码不正确（如 C62、KGM、LTR）", "Not a known unit code (such as C62, KGM, LTR)"),
    ("zone_unknown", "没有此区域的配置", "There is no profile for this zone"),
    (
        "exchange_rate_missing",
        "没有申报日的汇率，请填写汇率",
        "There is no exchange rate for the declaration date: give one",
    ),
    ("rate_missing", "该税号缺少所需税率", "The tariff line lacks the rate this needs"),
    ("attribute_missing", "计税需要此商品属性", "The taxes need this attribute of the goods"),
    ("quantity_basis", "数量无法换算为计税单位", "The quantity cannot be converted to the unit the tax is levied on"),
    ("quantity_zero", "计税数量为零", "The taxable quantity is zero"),
    (
        "conflict",
        "此编号已用于另一份内容不同的申报单",
        "This reference was used before for a declaration with other content",
    ),
    ("forbidden", "您只能以本企业名义申报", "You may declare for your own enterprise only"),
    ("parameter_unknown", "不支持此查询参数", "This page does not take this parameter"),
    ("parameter_repeated", "查询参数重复", "This parameter is given more than once"),
    (
        "user_id",
        "用户名为3至64位小写字母、数字或 . _ -，以字母或数字开头",
        "A user id has 3 to 64 lowercase letters, digits or . _ -, starting with a letter or digit",
    ),
    ("party", "单位标识不正确", "This party id is not valid for the party kind"),
    ("password", "密码长度不符合要求", "The password has the wrong length"),
    ("length", "长度不符合要求", "This has the wrong length"),
    ("inactive", "该账户已停用", "This account is deactivated"),
    ("account_exists", "该用户名已被使用", "This user id is taken"),
    (
        "licence_missing",
        "该商品须提交进口许可证，且进口人未列入对应白名单",
        "These goods need an import licence, and the importer is not whitelisted for them",
    ),
    (
        "tcm_approval_missing",
        "该中药材须提交进口药材审批文件，且进口人未列入研发用中药材白名单",
        "These TCM raw materials need the herb import approval, and the importer is not whitelisted for them",
    ),
    (
        "whitelist_second_line",
        "白名单货物只能在合作区内及往来澳门流通，不得经二线出区",
        "Whitelisted goods may circulate in the zone and to Macao but not leave over the second line",
    ),
    (
        "category_unknown",
        "白名单类别应为 macao_brand 或 tcm_material",
        "The whitelist category is macao_brand or tcm_material",
    ),
    ("validity_range", "有效期止日早于起始日", "The end of validity is before its start"),
    (
        "processing_disagrees_with_ledger",
        "填报的料件价值与保税账册记录不一致",
        "The material values given disagree with the bonded ledger's",
    ),
    (
        "ledger_item",
        "保税账册中没有该料号或数量不足",
        "The bonded ledger has no such item, or not enough of it made in the zone",
    ),
    (
        "processing_materials_zero",
        "进口料件和国内料件均为零，无法计算加工增值",
        "Imported and domestic materials are both zero: the value added cannot be computed",
    ),
];

/// The vocabularies whose codes the console labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vocab {
    Flow,
    Treatment,
    Purpose,
    Channel,
    CreditClass,
    ValueBasis,
    Zone,
    List,
    /// What a list is for (the description beside its name).
    ListPurpose,
    EventKind,
    Role,
}

impl Vocab {
    #[cfg(test)]
    const ALL: [Vocab; 11] = [
        Vocab::Flow,
        Vocab::Treatment,
        Vocab::Purpose,
        Vocab::Channel,
        Vocab::CreditClass,
        Vocab::ValueBasis,
        Vocab::Zone,
        Vocab::List,
        Vocab::ListPurpose,
        Vocab::EventKind,
        Vocab::Role,
    ];

    fn entries(self) -> &'static [Entry] {
        match self {
            Vocab::Flow => FLOWS,
            Vocab::Treatment => TREATMENTS,
            Vocab::Purpose => PURPOSES,
            Vocab::Channel => CHANNELS,
            Vocab::CreditClass => CREDIT_CLASSES,
            Vocab::ValueBasis => VALUE_BASES,
            Vocab::Zone => ZONES,
            Vocab::List => LISTS,
            Vocab::ListPurpose => LIST_PURPOSES,
            Vocab::EventKind => EVENT_KINDS,
            Vocab::Role => ROLES,
        }
    }
}

fn find(entries: &'static [Entry], lang: Lang, code: &str) -> Option<&'static str> {
    entries.iter().find(|(key, _, _)| *key == code).map(|(_, zh, en)| match lang {
        Lang::Zh => *zh,
        Lang::En => *en,
    })
}

/// The label of a code; an unknown code is shown as it is.
pub(crate) fn label<'a>(lang: Lang, vocab: Vocab, code: &'a str) -> Cow<'a, str> {
    find(vocab.entries(), lang, code).map_or(Cow::Borrowed(code), Cow::Borrowed)
}

/// How a party that is not an enterprise is named: a known office by its name (`customs:hengqin` → Hengqin
/// Customs), another `kind:name` id by its kind and name (`bank:boc-hengqin` → Bank boc-hengqin); any other
/// id as it is.
pub(crate) fn party_name<'a>(lang: Lang, id: &'a str) -> Cow<'a, str> {
    if let Some(name) = find(OFFICES, lang, id) {
        return Cow::Borrowed(name);
    }
    match id.split_once(':').and_then(|(kind, name)| Some((find(PARTY_KINDS, lang, kind)?, name))) {
        Some((kind, name)) => Cow::Owned(format!("{kind} {name}")),
        None => Cow::Borrowed(id),
    }
}

/// The name of a kind of party (`enterprise` → 企业); an unknown kind is shown as it is.
pub(crate) fn party_kind_label(lang: Lang, kind: &str) -> Cow<'_, str> {
    find(PARTY_KINDS, lang, kind).map_or(Cow::Borrowed(kind), Cow::Borrowed)
}

/// What a rule id means, if the console knows it.
pub(crate) fn explain(lang: Lang, id: &str) -> Option<&'static str> {
    find(RULES, lang, id)
}

/// The plain-words meaning of an API error code, if the console knows it.
pub(crate) fn error_text(lang: Lang, code: &str) -> Option<&'static str> {
    find(ERRORS, lang, code)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;
    use zonegate_policy::defaults;

    use super::*;

    fn has_han(text: &str) -> bool {
        text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    #[test]
    fn every_entry_has_both_languages_once() {
        let tables = Vocab::ALL.iter().map(|vocab| vocab.entries()).chain([RULES, ERRORS, PARTY_KINDS, OFFICES]);
        for table in tables {
            let mut seen = BTreeSet::new();
            for (code, zh, en) in table {
                assert!(seen.insert(*code), "`{code}` is listed twice");
                assert!(has_han(zh), "the Chinese text of `{code}` has no Chinese: {zh}");
                assert!(!en.trim().is_empty() && !has_han(en), "the English text of `{code}`: {en}");
            }
        }
    }

    /// Rule ids named as string literals in a source file: dotted lowercase ids of the known families.
    fn rule_ids_in(source: &str) -> BTreeSet<String> {
        const FAMILIES: [&str; 9] = [
            "first_line.",
            "second_line.",
            "second_line_in.",
            "first_line_out.",
            "zone_transfer.",
            "rate.",
            "credit.",
            "ct.",
            "vat.",
        ];
        source
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|text| FAMILIES.iter().any(|family| text.starts_with(family)))
            .filter(|text| text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.'))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_rule_the_engine_and_the_golden_cases_name_is_explained() {
        let sources = [
            include_str!("../../../policy/src/treatment.rs"),
            include_str!("../../../policy/src/assess.rs"),
            include_str!("../../../tariff/src/compute.rs"),
            include_str!("../../../policy/tests/golden.rs"),
        ];
        let mut ids: BTreeSet<String> = sources.iter().flat_map(|source| rule_ids_in(source)).collect();
        assert!(ids.len() > 25, "the scan found too few ids: {ids:?}");
        let rows = defaults::shipped_rows().expect("the shipped data parses");
        ids.extend(rows.vat.iter().map(|row| row.key.clone()));
        ids.extend(rows.consumption_tax.iter().map(|row| row.key.clone()));
        ids.extend(
            ["duty_under_threshold", "consumption_tax_under_threshold", "vat_under_threshold"].map(String::from),
        );
        let missing: Vec<&String> =
            ids.iter().filter(|id| explain(Lang::Zh, id).is_none() || explain(Lang::En, id).is_none()).collect();
        assert!(missing.is_empty(), "rule ids without an explanation: {missing:?}");
    }

    #[test]
    fn every_id_the_examples_produce_is_explained() {
        let mut rows = defaults::shipped_rows().expect("the shipped data parses");
        rows.extend(defaults::demo_rows().expect("the demo data parses"));
        let book = rows.to_book();
        let parties: Value = serde_json::from_str(defaults::DEMO_PARTIES).expect("demo parties");
        let parties = zonegate_wire::parties::parse_parties(&parties).expect("demo parties parse");
        let party = |uscc: &zonegate_domain::Uscc| parties.iter().find(|p| p.uscc == *uscc);
        let examples = [
            include_str!("../../../../examples/first_line_in.json"),
            include_str!("../../../../examples/second_line_out.json"),
        ];
        for example in examples {
            let document: Value = serde_json::from_str(example).expect("example JSON");
            let declaration = zonegate_app::parse_declaration(&book, &document).expect("the example parses");
            let assessment = zonegate_policy::assess(
                &book,
                &declaration,
                party(&declaration.declarant),
                party(&declaration.importer),
            )
            .expect("the example assesses");
            let ids: Vec<String> = assessment
                .items
                .iter()
                .flat_map(|item| item.basis.iter().cloned())
                .chain(assessment.totals.waived.iter().map(|w| w.as_str().to_owned()))
                .chain(zonegate_risk::engine::BUILTIN_REASONS.iter().map(|r| (*r).to_owned()))
                .collect();
            for id in ids {
                assert!(explain(Lang::Zh, &id).is_some() && explain(Lang::En, &id).is_some(), "`{id}` unexplained");
            }
        }
    }

    #[test]
    fn every_code_of_the_domain_has_a_label() {
        use zonegate_domain::{CreditClass, Flow, Purpose, ValueBasis};
        use zonegate_policy::Treatment;
        let cases: Vec<(Vocab, Vec<&str>)> = vec![
            (Vocab::Flow, Flow::ALL.iter().map(|f| f.as_str()).collect()),
            (Vocab::Purpose, Purpose::ALL.iter().map(|p| p.as_str()).collect()),
            (Vocab::ValueBasis, ValueBasis::ALL.iter().map(|v| v.as_str()).collect()),
            (Vocab::CreditClass, CreditClass::ALL.iter().map(|c| c.as_str()).collect()),
            (Vocab::Treatment, Treatment::ALL.iter().map(|t| t.as_str()).collect()),
            (Vocab::List, zonegate_policy::book::LISTS.iter().map(|(name, _, _)| *name).collect()),
            (Vocab::ListPurpose, zonegate_policy::book::LISTS.iter().map(|(name, _, _)| *name).collect()),
            (Vocab::Role, zonegate_auth::Role::ALL.iter().map(|r| r.as_str()).collect()),
            (Vocab::Channel, zonegate_risk::Channel::ALL.iter().map(|c| c.as_str()).collect()),
        ];
        for (vocab, codes) in cases {
            for code in codes {
                assert!(find(vocab.entries(), Lang::En, code).is_some(), "{vocab:?} `{code}` has no label");
            }
        }
        for kind in zonegate_auth::PartyKind::ALL {
            assert!(
                find(PARTY_KINDS, Lang::En, kind.as_str()).is_some(),
                "party kind `{}` has no label",
                kind.as_str()
            );
        }
        assert_eq!(label(Lang::Zh, Vocab::Flow, "teleport"), "teleport");
        assert_eq!(label(Lang::Zh, Vocab::Flow, "first_line_in"), "一线进境");
    }

    #[test]
    fn parties_are_named_for_people() {
        assert_eq!(party_name(Lang::Zh, "customs:hengqin"), "横琴海关");
        assert_eq!(party_name(Lang::En, "customs:hengqin"), "Hengqin Customs");
        assert_eq!(party_name(Lang::En, "bank:boc-hengqin"), "Bank boc-hengqin");
        assert_eq!(party_name(Lang::Zh, "authority:macao-iacm"), "主管部门 macao-iacm");
        assert_eq!(party_name(Lang::En, "91440400MA4UJ0J57H"), "91440400MA4UJ0J57H");
        assert_eq!(party_name(Lang::En, "planet:mars"), "planet:mars");
    }
}
