{#-
    Personal data inside free text, masked: the rule of minhu/pii.py (its docstring says what and
    why), in SQL. The regular expressions are the same strings as minhu/pii.py's constants
    (ID_NUMBER, MOBILE, LANDLINE, DOOR); tests/test_pii.py checks that they stay the same and runs
    this macro on the samples the Python rule is tested with.
-#}
{% macro mask_personal(text, citizen_name, address) -%}
regexp_replace(
    regexp_replace(
        regexp_replace(
            regexp_replace(
                replace(
                    replace(
                        {{ text }},
                        case when length(trim({{ citizen_name }})) >= 2 then trim({{ citizen_name }}) else chr(0) end,
                        '**'
                    ),
                    case when length(trim({{ address }})) >= 4 then trim({{ address }}) else chr(0) end,
                    '[地址]'
                ),
                '[0-9]{17}[0-9Xx]|[0-9]{15}', '[身份证号]', 'g'
            ),
            '(\+?86[- ]?)?1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4}', '[电话]', 'g'
        ),
        '0[0-9]{2,3}-[0-9]{7,8}', '[电话]', 'g'
    ),
    '(大道|大街|路|街|巷|弄|村|区|园|苑|城|府|湾|庭|居|邸|阁|院|寓|厦|墩|庄|坊|场|中心)(特?[0-9０-９]+(?:(?:号楼|号院|号|栋|幢|座|单元|室)|(?:-[0-9０-９]+)+(?:号|室))(?:[附之-]?[0-9０-９]+(?:号楼|号院|号|栋|幢|座|单元|室|楼|层))*)', '\1[地址]', 'g'
)
{%- endmacro %}
